/* upstream/cloudcode.c: Cloud Code v1internal calls with endpoint fallthrough (see cloudcode.h).
 * Each attempt is one ag_upstream_req. An attempt whose head says "try elsewhere" has its body
 * drained and dropped (a few bytes, and the connection stays reusable); the next attempt starts
 * from its on_done, which runs outside libcurl. */
#include "upstream/cloudcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

#define DEFAULT_MAX_BODY (16u * 1024u * 1024u)
#define MAX_HEADERS      24
#define MAX_URL          2048

enum retry { RETRY_NONE, RETRY_NEXT, RETRY_NO_PROJECT };

struct ag_cloudcode_call {
    struct ag_upstream_client *client;
    struct ag_cloudcode_call_spec spec;
    struct ag_upstream_req *req; /* current attempt */
    char *headers[MAX_HEADERS];
    size_t nheaders;
    char *url;          /* this attempt's (at most MAX_URL bytes) */
    struct ag_buf body; /* collected when spec.on_data is NULL */
    size_t endpoint;
    unsigned attempts;
    enum retry retry; /* decided from the current attempt's head */
    bool forwarded;   /* the current attempt's head went to the caller */
    bool drop_project;
    bool done;
};

bool ag_cloudcode_client_version(const char *user_agent, char *out, size_t cap)
{
    const char *v = user_agent ? strstr(user_agent, "Antigravity/") : NULL;
    size_t n = 0;
    if (cap)
        out[0] = '\0';
    if (!v || !cap)
        return false;
    v += strlen("Antigravity/");
    while (n + 1 < cap && ((v[n] >= '0' && v[n] <= '9') || v[n] == '.'))
        n++;
    if (n == 0 || v[0] == '.')
        return false;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

bool ag_cloudcode_project_usable(const char *project)
{
    return project && *project && strcmp(project, "test-project") != 0 &&
           strcmp(project, "project-id") != 0;
}

static void free_call(struct ag_cloudcode_call *call)
{
    for (size_t i = 0; i < call->nheaders; i++)
        free(call->headers[i]);
    ag_buf_dispose(&call->body);
    free(call->url);
    free(call);
}

static int add_header(struct ag_cloudcode_call *call, const char *name, const char *value)
{
    if (call->nheaders >= MAX_HEADERS)
        return AG_ETOOBIG;
    /* "name: value", one allocation, no printf: a call adds several per request */
    size_t nl = strlen(name), vl = strlen(value);
    if (nl + vl + 2 > 16 * 1024)
        return AG_ETOOBIG;
    char *h = ag_malloc(nl + vl + 3);
    memcpy(h, name, nl + 1); /* its NUL is overwritten by the separator */
    h[nl] = ':';
    h[nl + 1] = ' ';
    memcpy(h + nl + 2, value, vl + 1);
    call->headers[call->nheaders++] = h;
    return 0;
}

static bool sends_project(const struct ag_cloudcode_call *call)
{
    return !call->spec.url && !call->drop_project &&
           ag_cloudcode_project_usable(call->spec.project);
}

/* The last endpoint to try (a provider URL is the only one). */
static bool at_last(const struct ag_cloudcode_call *call)
{
    return call->spec.url || call->endpoint + 1 >= call->spec.target->nendpoints;
}

static int build_headers(struct ag_cloudcode_call *call)
{
    const struct ag_cloudcode_call_spec *s = &call->spec;
    int rc;

    for (size_t i = 0; i < call->nheaders; i++)
        free(call->headers[i]);
    call->nheaders = 0;
    rc = add_header(call, "Content-Type", "application/json");
    if (s->url) /* a provider: its own auth headers come in extra_headers */
        goto extra;
    if (!rc) {
        char bearer[8192];
        size_t n = strlen(s->access_token);
        if (n >= sizeof(bearer) - 7) {
            rc = AG_ETOOBIG;
        } else {
            memcpy(bearer, "Bearer ", 8); /* its NUL is overwritten by the token's first byte */
            memcpy(bearer + 7, s->access_token, n + 1);
            rc = add_header(call, "Authorization", bearer);
        }
    }
    if (!rc && s->target->user_agent && *s->target->user_agent)
        rc = add_header(call, "User-Agent", s->target->user_agent);
    if (!rc)
        rc = add_header(call, "x-client-name", "antigravity");
    if (!rc && s->target->client_version && *s->target->client_version)
        rc = add_header(call, "x-client-version", s->target->client_version);
    if (!rc && sends_project(call))
        rc = add_header(call, "x-goog-user-project", s->project);
extra:
    for (size_t i = 0; !rc && i < s->nextra; i++) {
        if (call->nheaders >= MAX_HEADERS)
            rc = AG_ETOOBIG;
        else
            call->headers[call->nheaders++] = ag_strdup(s->extra_headers[i]);
    }
    return rc;
}

static int build_url(struct ag_cloudcode_call *call)
{
    const char *base =
        call->spec.url ? call->spec.url : call->spec.target->endpoints[call->endpoint];
    size_t blen = strlen(base);
    struct ag_buf u;
    int rc;

    /* <endpoint>:<method>[?alt=sse], or a provider's own URL, in an allocation of its size (a call
     * is kept for a stream's whole life) */
    ag_buf_init(&u, MAX_URL - 1);
    if (call->spec.url) {
        rc = ag_buf_append(&u, base, blen);
    } else {
        while (blen && base[blen - 1] == '/')
            blen--;
        rc = ag_buf_append(&u, base, blen);
        rc = rc ? rc : ag_buf_append(&u, ":", 1);
        rc = rc ? rc : ag_buf_append_c(&u, call->spec.method);
        if (!rc && call->spec.sse)
            rc = ag_buf_append_c(&u, "?alt=sse");
    }
    if (rc) {
        ag_buf_dispose(&u);
        return AG_ETOOBIG;
    }
    free(call->url);
    call->url = ag_buf_steal(&u, NULL);
    return 0;
}

static void deliver(struct ag_cloudcode_call *call, const struct ag_upstream_result *res)
{
    struct ag_cloudcode_result out = {
        .err = res->err,
        .fail = res->fail,
        .status = call->forwarded ? res->status : 0,
        .message = res->message,
        .body = ag_buf_str(&call->body),
        .endpoint = call->endpoint,
        .attempts = call->attempts,
        .url = call->url,
        .ttfb_us = res->ttfb_us,
        .duration_us = res->duration_us,
    };
    if (!out.body.p)
        out.body = ag_str_make("", 0);
    if (out.err == 0 && !call->forwarded)
        out.status = res->status;
    call->done = true;
    call->spec.on_done(call, &out, call->spec.ud);
    free_call(call);
}

static int on_head(struct ag_upstream_req *r, int status, void *ud)
{
    struct ag_cloudcode_call *call = ud;
    bool last = at_last(call);
    (void)r;

    call->retry = RETRY_NONE;
    if (status == 403 && sends_project(call))
        call->retry = RETRY_NO_PROJECT;
    else if (!last && (status == 408 || status == 404 || status >= 500))
        call->retry = RETRY_NEXT;
    if (call->retry != RETRY_NONE) {
        ag_log_debug("cloudcode: %s answered %d, trying %s", call->url, status,
                     call->retry == RETRY_NEXT ? "the next endpoint"
                                               : "without the project header");
        return 0;
    }
    call->forwarded = true;
    /* The caller may cancel (and so free) the call in there: touch nothing afterwards. */
    return call->spec.on_head ? call->spec.on_head(call, status, call->spec.ud) : 0;
}

static int on_data(struct ag_upstream_req *r, const char *p, size_t n, void *ud)
{
    struct ag_cloudcode_call *call = ud;
    (void)r;

    if (!call->forwarded)
        return 0; /* body of an answer we fall through from: dropped */
    if (!call->spec.on_data)
        return ag_buf_append(&call->body, p, n);
    return call->spec.on_data(call, p, n, call->spec.ud);
}

static int start_attempt(struct ag_cloudcode_call *call);

static void on_done(struct ag_upstream_req *r, const struct ag_upstream_result *res, void *ud)
{
    struct ag_cloudcode_call *call = ud;
    bool last = at_last(call);
    bool retry = false;
    (void)r;

    /* call->req stays set while the answer is delivered: its headers are readable in on_done. */
    if (call->retry == RETRY_NO_PROJECT) {
        call->drop_project = true;
        call->endpoint = 0;
        retry = true;
    } else if (call->retry == RETRY_NEXT ||
               (res->err && !call->forwarded && !last && res->fail != AG_UPSTREAM_FAIL_CANCELED &&
                res->fail != AG_UPSTREAM_FAIL_CALLBACK && res->fail != AG_UPSTREAM_FAIL_TOO_BIG)) {
        if (res->err)
            ag_log_debug("cloudcode: %s failed (%s), trying the next endpoint", call->url,
                         res->message);
        call->endpoint++;
        retry = true;
    }
    if (retry) {
        call->req = NULL;
        call->retry = RETRY_NONE;
        call->forwarded = false;
        ag_buf_reset(&call->body);
        while (start_attempt(call) < 0) {
            if (at_last(call)) {
                struct ag_upstream_result bad = {.err = AG_EINVAL,
                                                 .fail = AG_UPSTREAM_FAIL_OTHER,
                                                 .message = "cannot start the request"};
                deliver(call, &bad);
                return;
            }
            call->endpoint++;
        }
        return;
    }
    deliver(call, res);
}

static int start_attempt(struct ag_cloudcode_call *call)
{
    struct ag_upstream_req_spec rs = {0};
    int rc;

    rc = build_url(call);
    if (!rc)
        rc = build_headers(call);
    if (rc < 0)
        return rc;
    rs.method = "POST";
    rs.url = call->url;
    rs.headers = (const char *const *)call->headers;
    rs.nheaders = call->nheaders;
    rs.body = call->spec.body ? call->spec.body : "";
    rs.body_len = call->spec.body ? call->spec.body_len : 0;
    rs.proxy = call->spec.target->proxy;
    rs.timeouts = call->spec.target->timeouts;
    rs.on_head = on_head;
    rs.on_data = on_data;
    rs.on_done = on_done;
    rs.ud = call;
    call->attempts++;
    call->req = ag_upstream_req_start(call->client, &rs, &rc);
    return call->req ? 0 : rc;
}

struct ag_cloudcode_call *ag_cloudcode_call_start(struct ag_upstream_client *client,
                                                  const struct ag_cloudcode_call_spec *spec,
                                                  int *err)
{
    struct ag_cloudcode_call *call = NULL;
    int rc = AG_EINVAL;

    if (!spec->target || !spec->on_done)
        goto out;
    if (spec->url
            ? !*spec->url
            : !spec->target->nendpoints || !spec->method || !*spec->method || !spec->access_token)
        goto out;
    call = AG_NEW(struct ag_cloudcode_call);
    call->client = client;
    call->spec = *spec;
    ag_buf_init(&call->body, spec->max_body ? spec->max_body : DEFAULT_MAX_BODY);
    /* A bad endpoint (or proxy) is skipped like an unreachable one; all bad is an error. */
    for (;;) {
        rc = start_attempt(call);
        if (rc == 0 || rc == AG_ESTATE || at_last(call))
            break;
        call->endpoint++;
    }
out:
    if (rc < 0 && call) {
        free_call(call);
        call = NULL;
    }
    if (err)
        *err = rc;
    return call;
}

void ag_cloudcode_call_cancel(struct ag_cloudcode_call *call)
{
    if (!call || call->done)
        return;
    ag_upstream_req_cancel(call->req);
    free_call(call);
}

void ag_cloudcode_call_pause(struct ag_cloudcode_call *call)
{
    if (call->req)
        ag_upstream_req_pause(call->req);
}

void ag_cloudcode_call_resume(struct ag_cloudcode_call *call)
{
    if (call->req)
        ag_upstream_req_resume(call->req);
}

struct ag_str ag_cloudcode_call_header(const struct ag_cloudcode_call *call, const char *name)
{
    return call->req ? ag_upstream_req_header(call->req, name) : AG_STR_NULL;
}

size_t ag_cloudcode_call_endpoint(const struct ag_cloudcode_call *call)
{
    return call->endpoint;
}
