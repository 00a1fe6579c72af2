/* upstream/errclass.c: upstream failure classification (see errclass.h). Google's errors look like
 *   {"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED","details":[
 *     {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"QUOTA_EXHAUSTED",
 *      "metadata":{"quotaResetDelay":"2h1m1s", ...}},
 *     {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.203608125s"}]}}
 * sometimes wrapped in a one-element array; other upstreams send their own shapes or plain text,
 * for which the status and the wording decide. */
#include "upstream/errclass.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <yyjson.h>

#include "core/err.h"
#include "core/json_depth.h"

const char *ag_errclass_kind_name(enum ag_errclass_kind kind)
{
    return ag_failure_of(kind)->name;
}

static void init(struct ag_errclass *out)
{
    memset(out, 0, sizeof(*out));
    out->retry_delay_ms = -1;
}

static void copy_slice(char *dst, size_t cap, struct ag_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

/* ---- durations ---- */

int ag_errclass_parse_duration(struct ag_str s, int64_t *ms, size_t *used)
{
    size_t i = 0;
    double total = 0;
    bool any = false;

    while (i < s.len && s.p[i] == ' ')
        i++;
    for (;;) {
        size_t j = i, k;
        double num = 0, frac = 0.1, unit;
        bool digits = false;

        while (j < s.len && isdigit((unsigned char)s.p[j])) {
            num = num * 10 + (s.p[j++] - '0');
            digits = true;
        }
        if (j < s.len && s.p[j] == '.') {
            j++;
            while (j < s.len && isdigit((unsigned char)s.p[j])) {
                num += (s.p[j++] - '0') * frac;
                frac /= 10;
                digits = true;
            }
        }
        if (!digits)
            break;
        while (j < s.len && s.p[j] == ' ')
            j++;
        k = j;
        while (k < s.len && isalpha((unsigned char)s.p[k]))
            k++;
        {
            struct ag_str u = ag_str_make(s.p + j, k - j);
            if (u.len == 0)
                break;
            if (ag_str_has_prefix_ci(u, "ms") || ag_str_has_prefix_ci(u, "milli"))
                unit = 1;
            else if (ag_str_has_prefix_ci(u, "s"))
                unit = 1000;
            else if (ag_str_has_prefix_ci(u, "m"))
                unit = 60000;
            else if (ag_str_has_prefix_ci(u, "h"))
                unit = 3600000;
            else if (ag_str_has_prefix_ci(u, "d"))
                unit = 86400000;
            else
                break;
        }
        total += num * unit;
        any = true;
        i = k;
        /* "2m 30s", "1h16m0.667s" */
        while (i < s.len && s.p[i] == ' ' && i + 1 < s.len && isdigit((unsigned char)s.p[i + 1]))
            i++;
    }
    if (!any)
        return AG_EPARSE;
    if (total > 1e15)
        total = 1e15;
    *ms = (int64_t)llround(total);
    if (used)
        *used = i;
    return 0;
}

/* A protobuf Duration as JSON: "1.5s" or {"seconds": 1, "nanos": 500000000}. */
static int json_duration(yyjson_val *v, int64_t *ms)
{
    if (yyjson_is_str(v))
        return ag_errclass_parse_duration(ag_str_make(yyjson_get_str(v), yyjson_get_len(v)), ms,
                                          NULL);
    if (yyjson_is_num(v)) {
        *ms = (int64_t)llround(yyjson_get_num(v) * 1000.0);
        return 0;
    }
    if (yyjson_is_obj(v)) {
        yyjson_val *sec = yyjson_obj_get(v, "seconds"), *nanos = yyjson_obj_get(v, "nanos");
        double t = 0;
        if (!sec && !nanos)
            return AG_EPARSE;
        if (yyjson_is_str(sec))
            t += strtod(yyjson_get_str(sec), NULL) * 1000.0;
        else if (yyjson_is_num(sec))
            t += yyjson_get_num(sec) * 1000.0;
        if (yyjson_is_num(nanos))
            t += yyjson_get_num(nanos) / 1e6;
        *ms = (int64_t)llround(t);
        return 0;
    }
    return AG_EPARSE;
}

/* Retry-After: delta-seconds or an HTTP date. */
static int retry_after_ms(struct ag_str v, int64_t now_s, int64_t *ms)
{
    uint64_t secs;
    struct tm tm = {0};
    char buf[64];

    v = ag_str_trim(v);
    if (!v.p || !v.len)
        return AG_EPARSE;
    if (ag_str_to_u64(v, 100000000, &secs) == 0) {
        *ms = (int64_t)secs * 1000;
        return 0;
    }
    copy_slice(buf, sizeof(buf), v);
    if (strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
        int64_t at = (int64_t)timegm(&tm);
        *ms = at > now_s ? (at - now_s) * 1000 : 0;
        return 0;
    }
    return AG_EPARSE;
}

/* ---- text helpers ---- */

static const char *find_ci(struct ag_str hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n && i + n <= hay.len; i++) {
        if (strncasecmp(hay.p + i, needle, n) == 0)
            return hay.p + i;
    }
    return NULL;
}

static bool contains_ci(struct ag_str hay, const char *needle)
{
    return find_ci(hay, needle) != NULL;
}

/* "retry after 30s", "quota will reset after 2h1m", "try again in 2m 30s", "wait 5s". */
static bool delay_from_text(struct ag_str text, int64_t *ms)
{
    static const char *const leads[] = {"quota will reset after",
                                        "quota will reset in",
                                        "retry after",
                                        "resets in",
                                        "try again in",
                                        "retry in",
                                        "backoff for",
                                        "wait"};
    for (size_t i = 0; i < sizeof(leads) / sizeof(leads[0]); i++) {
        struct ag_str rest = text;
        const char *hit;
        while ((hit = find_ci(rest, leads[i]))) {
            size_t off = (size_t)(hit - rest.p) + strlen(leads[i]);
            rest = ag_str_make(rest.p + off, rest.len - off);
            if (ag_errclass_parse_duration(rest, ms, NULL) == 0)
                return true;
        }
    }
    return false;
}

/* The first "https://..." in text, with JSON's \u0026 turned back into '&'. */
static void url_from_text(struct ag_str text, char *out, size_t cap)
{
    const char *p = find_ci(text, "https://");
    size_t o = 0;

    out[0] = '\0';
    if (!p)
        return;
    for (const char *end = text.p + text.len; p < end && o + 1 < cap; p++) {
        if (*p == '"' || *p == '\'' || *p == ' ' || *p == '\n' || *p == '<' || *p == '>')
            break;
        if (*p == '\\' && end - p >= 6 && strncmp(p, "\\u0026", 6) == 0) {
            out[o++] = '&';
            p += 5;
            continue;
        }
        if (*p == '\\')
            break;
        out[o++] = *p;
    }
    out[o] = '\0';
}

/* ---- Google JSON errors ---- */

static yyjson_val *obj_get_ci(yyjson_val *obj, const char *key)
{
    yyjson_val *k, *v;
    yyjson_obj_iter it = yyjson_obj_iter_with(obj);
    while ((k = yyjson_obj_iter_next(&it))) {
        v = yyjson_obj_iter_get_val(k);
        if (strcasecmp(yyjson_get_str(k), key) == 0)
            return v;
    }
    return NULL;
}

static void set_delay(struct ag_errclass *out, int64_t ms, enum ag_errclass_delay_src src)
{
    if (out->delay_src == AG_DELAY_NONE || src < out->delay_src) {
        out->retry_delay_ms = ms;
        out->delay_src = src;
    }
}

/* The period a quota is counted over, as the structured details name it. */
enum scope { SCOPE_UNKNOWN = 0, SCOPE_MINUTE, SCOPE_DAY };

/* What the structured details of a Google error say about a 429, before any wording is read. */
struct facts {
    char info_reason[64]; /* google.rpc.ErrorInfo.reason, "" when none */
    enum scope scope;     /* from ErrorInfo.metadata.quota_limit / QuotaFailure quotaId */
};

/* "Gemini25ProRequestsPerDay", "GenerateContentInputTokensPerModelPerMinute-FreeTier",
 * "generate_content_free_tier_requests" (no period): the period a quota id names. */
static enum scope scope_of(yyjson_val *v)
{
    struct ag_str s;
    if (!yyjson_is_str(v))
        return SCOPE_UNKNOWN;
    s = ag_str_make(yyjson_get_str(v), yyjson_get_len(v));
    if (contains_ci(s, "perday") || contains_ci(s, "per_day") || contains_ci(s, "daily"))
        return SCOPE_DAY;
    if (contains_ci(s, "perminute") || contains_ci(s, "per_minute"))
        return SCOPE_MINUTE;
    return SCOPE_UNKNOWN;
}

static void note_scope(struct facts *f, enum scope s)
{
    if (s > f->scope) /* a daily limit among the violations decides */
        f->scope = s;
}

/* "2025-12-18T20:18:34Z" (fractions and offsets of zero ignored) as unix seconds, -1 if not. */
static int64_t rfc3339_s(yyjson_val *v)
{
    struct tm tm = {0};
    const char *s = yyjson_get_str(v), *end;
    if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
        return -1;
    if (*end == '.')
        while (*++end >= '0' && *end <= '9')
            ;
    if (*end != 'Z' && *end != 'z' && strcmp(end, "+00:00") != 0)
        return -1;
    return (int64_t)timegm(&tm);
}

static bool is_type(yyjson_val *d, const char *suffix)
{
    yyjson_val *type = yyjson_obj_get(d, "@type");
    return yyjson_is_str(type) && ag_str_has_suffix(ag_str_c(yyjson_get_str(type)), suffix);
}

static void read_json(yyjson_val *root, int64_t now_s, struct ag_errclass *out, struct facts *f)
{
    yyjson_val *err, *details, *d, *v;
    size_t idx, max;

    if (yyjson_is_arr(root))
        root = yyjson_arr_get_first(root);
    err = yyjson_obj_get(root, "error");
    if (!yyjson_is_obj(err))
        return;
    v = yyjson_obj_get(err, "message");
    if (yyjson_is_str(v))
        copy_slice(out->message, sizeof(out->message),
                   ag_str_make(yyjson_get_str(v), yyjson_get_len(v)));
    v = yyjson_obj_get(err, "status");
    if (!yyjson_is_str(v))
        v = yyjson_obj_get(err, "type"); /* OpenAI/Anthropic style */
    if (yyjson_is_str(v))
        copy_slice(out->reason, sizeof(out->reason),
                   ag_str_make(yyjson_get_str(v), yyjson_get_len(v)));
    v = yyjson_obj_get(err, "retry_after");
    if (yyjson_is_num(v))
        set_delay(out, (int64_t)llround(yyjson_get_num(v) * 1000.0), AG_DELAY_BODY_FIELD);

    details = yyjson_obj_get(err, "details");
    yyjson_arr_foreach(details, idx, max, d)
    {
        yyjson_val *meta, *reason, *viol, *x;
        size_t j, jmax;
        int64_t ms, at;

        if (is_type(d, "RetryInfo") && json_duration(yyjson_obj_get(d, "retryDelay"), &ms) == 0)
            set_delay(out, ms, AG_DELAY_RETRY_INFO);
        viol = is_type(d, "QuotaFailure") ? yyjson_obj_get(d, "violations") : NULL;
        yyjson_arr_foreach(viol, j, jmax, x)
        {
            note_scope(f, scope_of(yyjson_obj_get(x, "quotaId")));
            note_scope(f, scope_of(yyjson_obj_get(x, "quotaMetric")));
        }
        reason = yyjson_obj_get(d, "reason");
        if (yyjson_is_str(reason) && (!f->info_reason[0] || is_type(d, "ErrorInfo"))) {
            copy_slice(out->reason, sizeof(out->reason),
                       ag_str_make(yyjson_get_str(reason), yyjson_get_len(reason)));
            if (!f->info_reason[0])
                copy_slice(f->info_reason, sizeof(f->info_reason),
                           ag_str_make(yyjson_get_str(reason), yyjson_get_len(reason)));
        }
        meta = yyjson_obj_get(d, "metadata");
        if (!yyjson_is_obj(meta))
            continue;
        note_scope(f, scope_of(obj_get_ci(meta, "quota_limit")));
        note_scope(f, scope_of(obj_get_ci(meta, "quotaLimit")));
        v = obj_get_ci(meta, "quotaResetDelay");
        if (v && json_duration(v, &ms) == 0)
            set_delay(out, ms, AG_DELAY_QUOTA_RESET);
        at = rfc3339_s(obj_get_ci(meta, "quotaResetTimeStamp"));
        if (at >= 0)
            set_delay(out, at > now_s ? (at - now_s) * 1000 : 0, AG_DELAY_RESET_TIME);
        v = obj_get_ci(meta, "validation_url");
        if (!v)
            v = obj_get_ci(meta, "validationUrl");
        if (!v)
            v = obj_get_ci(meta, "appeal_url");
        if (yyjson_is_str(v) && !out->validation_url[0])
            copy_slice(out->validation_url, sizeof(out->validation_url),
                       ag_str_make(yyjson_get_str(v), yyjson_get_len(v)));
    }
}

/* What kind of 429: the structured details first (ErrorInfo.reason, then the period of the quota
 * that was hit), then the wording. Only explicit signs of a used-up quota (a reset announced, a
 * daily limit) make it QUOTA_EXHAUSTED; Google's generic RESOURCE_EXHAUSTED "Resource has been
 * exhausted (e.g. check quota)." names no quota at all and is a short rate limit. */
static void classify_limit(struct ag_str text, const struct facts *f, struct ag_errclass *out)
{
    static const char *const generic_words[] = {"resource has been exhausted", "resource_exhausted",
                                                "resource exhausted"};
    static const char *const quota_words[] = {
        "quota will reset", "quota reached",   "exhausted your capacity", "per day",
        "daily quota",      "quota_exhausted", "quota has been exhausted"};
    struct ag_str reason = ag_str_c(f->info_reason);

    /* A daily scope makes any reason but capacity a used-up quota (RATE_LIMIT_EXCEEDED too). */
    if (ag_str_eq_c(reason, "MODEL_CAPACITY_EXHAUSTED"))
        out->limit = AG_LIMIT_MODEL_CAPACITY;
    else if (ag_str_eq_c(reason, "QUOTA_EXHAUSTED") || f->scope == SCOPE_DAY)
        out->limit = AG_LIMIT_QUOTA_EXHAUSTED;
    else if (ag_str_eq_c(reason, "RATE_LIMIT_EXCEEDED") || f->scope == SCOPE_MINUTE)
        out->limit = AG_LIMIT_RATE;
    if (out->limit != AG_LIMIT_UNKNOWN)
        goto out;
    if (contains_ci(text, "per minute") || contains_ci(text, "rate limit") ||
        contains_ci(text, "too many requests")) {
        out->limit = AG_LIMIT_RATE;
        goto out;
    }
    if (contains_ci(text, "no capacity available")) {
        out->limit = AG_LIMIT_MODEL_CAPACITY;
        goto out;
    }
    for (size_t i = 0; i < sizeof(quota_words) / sizeof(quota_words[0]); i++) {
        if (contains_ci(text, quota_words[i])) {
            out->limit = AG_LIMIT_QUOTA_EXHAUSTED;
            goto out;
        }
    }
    for (size_t i = 0; i < sizeof(generic_words) / sizeof(generic_words[0]); i++) {
        if (contains_ci(text, generic_words[i])) {
            out->limit = AG_LIMIT_RATE;
            goto out;
        }
    }
    if (ag_str_eq_c(ag_str_c(out->reason), "RESOURCE_EXHAUSTED"))
        out->limit = AG_LIMIT_RATE; /* Google's status for every 429, naming no quota */
out:
    out->quota_exhausted = out->limit == AG_LIMIT_QUOTA_EXHAUSTED;
}

void ag_errclass_http(int status, struct ag_str body, struct ag_str retry_after, int64_t now_s,
                      struct ag_errclass *out)
{
    yyjson_doc *doc = NULL;
    struct facts f = {0};
    int64_t ms;

    init(out);
    out->status = status;
    if (!body.p)
        body = ag_str_make("", 0);
    if (status >= 200 && status < 400)
        return;

    if (body.len)
        doc = ag_json_depth_read(body.p, body.len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    if (doc)
        read_json(yyjson_doc_get_root(doc), now_s, out, &f);
    else
        copy_slice(out->message, sizeof(out->message), ag_str_trim(body));
    if (retry_after.p && retry_after_ms(retry_after, now_s, &ms) == 0)
        set_delay(out, ms, AG_DELAY_RETRY_AFTER);
    if (out->delay_src == AG_DELAY_NONE && delay_from_text(body, &ms))
        set_delay(out, ms, AG_DELAY_MESSAGE);
    if (!doc && !out->message[0])
        snprintf(out->message, sizeof(out->message), "HTTP %d", status);

    switch (status) {
    case 429:
        out->kind = AG_ERRCLASS_RATE_LIMITED;
        /* The wording that counts is the message (a JSON body's keys are no wording). */
        classify_limit(doc && out->message[0] ? ag_str_c(out->message) : body, &f, out);
        break;
    case 401:
        out->kind = AG_ERRCLASS_UNAUTHORIZED;
        break;
    case 403:
        out->kind = AG_ERRCLASS_FORBIDDEN;
        if (contains_ci(body, "VALIDATION_REQUIRED") || contains_ci(body, "verify your account") ||
            contains_ci(body, "validation_url") || out->validation_url[0]) {
            out->validation_required = true;
            if (!out->validation_url[0])
                url_from_text(body, out->validation_url, sizeof(out->validation_url));
        }
        break;
    case 404:
        out->kind = AG_ERRCLASS_NOT_FOUND;
        break;
    case 408:
        out->kind = AG_ERRCLASS_TIMEOUT;
        break;
    default:
        if (status >= 500) {
            out->kind = AG_ERRCLASS_SERVER_ERROR;
            out->overloaded = status == 529 || status == 503 || contains_ci(body, "overloaded");
        } else if (status >= 400) {
            out->kind = AG_ERRCLASS_BAD_REQUEST;
        } else {
            out->kind = AG_ERRCLASS_SERVER_ERROR; /* 1xx or nonsense as a final status */
        }
    }
    yyjson_doc_free(doc);
}

void ag_errclass_transport(enum ag_upstream_fail fail, const char *message, struct ag_errclass *out)
{
    init(out);
    out->fail = fail;
    out->kind = fail == AG_UPSTREAM_FAIL_NONE       ? AG_ERRCLASS_NONE
                : ag_upstream_fail_is_timeout(fail) ? AG_ERRCLASS_TIMEOUT
                                                    : AG_ERRCLASS_TRANSPORT;
    copy_slice(out->message, sizeof(out->message),
               ag_str_c(message ? message : ag_upstream_fail_name(fail)));
}

void ag_errclass_malformed(const char *message, struct ag_errclass *out)
{
    init(out);
    out->kind = AG_ERRCLASS_MALFORMED_STREAM;
    copy_slice(out->message, sizeof(out->message),
               ag_str_c(message ? message : "malformed stream"));
}
