/* upstream/cloudcode.h: the transport of Google's Cloud Code "v1internal" API. A call goes to
 * `<base>:<method>[?alt=sse]` with the headers the Antigravity client sends (Content-Type,
 * Authorization: Bearer, User-Agent, x-client-name, x-client-version, x-goog-user-project), trying
 * the configured endpoint list in order: it falls through to the next endpoint only on 408, 404,
 * 5xx or a transport failure before any response was handed over; any other answer (2xx, 400, 401,
 * 429, ...) or the last endpoint's answer is returned as is. A 403 to a request that carried
 * x-goog-user-project is retried once from the first endpoint without that header. The JSON
 * bodies (envelopes) are built and read by proto/; this file only moves bytes. The same machinery
 * calls a provider's API (an API-key account) when the spec names a whole URL.
 *
 * Lifetime and threading follow client.h: callbacks run on the loop; the call is freed after
 * on_done returns; ag_cloudcode_call_cancel() stops it with no further callbacks. */
#ifndef AG_UPSTREAM_CLOUDCODE_H
#define AG_UPSTREAM_CLOUDCODE_H

#include "upstream/client.h"

struct ag_cloudcode_call;

/** Where and as whom to call; the strings are borrowed for the call's whole life. */
struct ag_cloudcode_target {
    const char *const
        *endpoints; /* base URLs, e.g. "https://cloudcode-pa.googleapis.com/v1internal" */
    size_t nendpoints;
    const char *user_agent;     /* config upstream.user_agent; NULL = none */
    const char *client_version; /* x-client-version value; NULL = header omitted */
    const char *proxy;          /* per-account or global proxy URL; NULL = direct */
    struct ag_upstream_timeouts timeouts;
};

/** How a call ended; valid during on_done only. */
struct ag_cloudcode_result {
    int err;                    /* 0 when an HTTP answer was received (any status) */
    enum ag_upstream_fail fail; /* transport failure kind when err != 0 */
    int status;                 /* HTTP status of the answer handed over, 0 if none */
    const char *message;        /* failure detail, "" on success */
    struct ag_str body;         /* collected body when on_data was NULL */
    size_t endpoint;            /* index of the endpoint that answered (or failed last) */
    unsigned attempts;          /* HTTP requests made, fallthroughs included */
    const char *url;            /* URL of the last attempt */
    uint64_t ttfb_us, duration_us;
};

typedef int (*ag_cloudcode_head_cb)(struct ag_cloudcode_call *call, int status, void *ud);
typedef int (*ag_cloudcode_data_cb)(struct ag_cloudcode_call *call, const char *p, size_t n,
                                    void *ud);
typedef void (*ag_cloudcode_done_cb)(struct ag_cloudcode_call *call,
                                     const struct ag_cloudcode_result *res, void *ud);

struct ag_cloudcode_call_spec {
    const struct ag_cloudcode_target *target; /* borrowed */
    const char *method;       /* "streamGenerateContent", "generateContent", "countTokens", ... */
    bool sse;                 /* append "?alt=sse" */
    const char *access_token; /* OAuth access token (Bearer) */
    const char *project;      /* sent as x-goog-user-project unless empty/placeholder */
    const char *const *extra_headers; /* "Name: value", e.g. anthropic-beta */
    size_t nextra;
    /* A provider API instead of Cloud Code (upstream/provider.h prepares it): the whole URL, the
     * provider's auth headers in extra_headers; then target->endpoints, method, sse,
     * access_token and project are not used, no Antigravity header is sent, and there is no
     * fallthrough. target still gives the proxy and the timeouts. */
    const char *url;
    const void *body; /* JSON, borrowed until on_done or cancel */
    size_t body_len;
    size_t max_body;              /* cap when collecting (on_data NULL); 0 = 16 MiB */
    ag_cloudcode_head_cb on_head; /* the answer's status; headers via ag_cloudcode_call_header */
    ag_cloudcode_data_cb on_data; /* as ag_upstream_data_cb (AG_EAGAIN pauses) */
    ag_cloudcode_done_cb on_done; /* required */
    void *ud;
};

/**
 * Starts a call. Returns NULL with *err = AG_EINVAL (no endpoints, no method, no token, bad proxy)
 * or AG_ESTATE (client closing).
 */
struct ag_cloudcode_call *ag_cloudcode_call_start(struct ag_upstream_client *client,
                                                  const struct ag_cloudcode_call_spec *spec,
                                                  int *err);

/** Cancels the call; no callback runs afterwards. A no-op inside the call's own on_done. */
void ag_cloudcode_call_cancel(struct ag_cloudcode_call *call);

/** Backpressure, as ag_upstream_req_pause / _resume. */
void ag_cloudcode_call_pause(struct ag_cloudcode_call *call);
void ag_cloudcode_call_resume(struct ag_cloudcode_call *call);

/** A header of the answer handed over (p NULL if absent); valid until on_done returns. */
struct ag_str ag_cloudcode_call_header(const struct ag_cloudcode_call *call, const char *name);

/** Index of the endpoint currently tried. */
size_t ag_cloudcode_call_endpoint(const struct ag_cloudcode_call *call);

/**
 * The x-client-version the Antigravity client sends: the version in its User-Agent
 * ("Antigravity/4.3.0 (X11; Linux x86_64) ..." gives "4.3.0"), written NUL-terminated into out.
 * Returns false (out = "") when user_agent (may be NULL) names no Antigravity version.
 */
bool ag_cloudcode_client_version(const char *user_agent, char *out, size_t cap);

/** True when a project id is a real one to send (not empty, "test-project" or "project-id"). */
bool ag_cloudcode_project_usable(const char *project);

#endif
