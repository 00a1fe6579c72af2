/* tests/mock/mock.h: the mock upstream's shared state. The mock is a real HTTP server on the
 * project's own server core that speaks Google OAuth, Cloud Code v1internal, the public Gemini API,
 * OpenAI chat completions and Anthropic messages, answers deterministically from the request, and
 * lets tests script faults and read back what it received through /__mock/... (see control.c). */
#ifndef AG_MOCK_H
#define AG_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <yyjson.h>

#include "core/buf.h"
#include "core/str.h"
#include "http/server.h"

#define MOCK_MAX_ACCOUNTS 256
#define MOCK_MAX_QUOTAS   16
#define MOCK_MAX_FAULTS   64
#define MOCK_MAX_RECORDS  2000

struct mock_quota {
    char model[96];
    double remaining; /* remainingFraction */
    char reset_time[40];
};

struct mock_account {
    char email[128];
    char refresh_token[256];
    char access_token[256];
    char code[256]; /* authorization code that logs this account in */
    char project[128];
    char tier[32]; /* FREE, PRO, ULTRA */
    bool revoked;  /* refresh/code grants answer invalid_grant */
    struct mock_quota quotas[MOCK_MAX_QUOTAS];
    size_t nquotas;
};

enum mock_fault_kind { FAULT_STATUS, FAULT_DISCONNECT, FAULT_MALFORMED, FAULT_SLOW, FAULT_DEEP };

struct mock_fault {
    int id;
    enum mock_fault_kind kind;
    char token[256]; /* bearer token (or refresh token / code on /token) to match; "" = any */
    char model[96];  /* model to match; "" = any */
    char path[128];  /* substring of the request target to match; "" = any */
    int status;
    char body[2048];          /* explicit error body; "" = a realistic one for status */
    char retry_delay[32];     /* 429: RetryInfo.retryDelay, e.g. "1.5s" */
    char quota_reset[32];     /* 429: ErrorInfo.metadata.quotaResetDelay, e.g. "2h1m1s" */
    char reason[48];          /* 429: ErrorInfo.reason */
    int retry_after;          /* Retry-After header seconds; <0 none */
    char validation_url[512]; /* 403 VALIDATION_REQUIRED */
    uint32_t delay_ms;        /* slow first byte (any kind may carry it) */
    int after_events;         /* disconnect / malformed after this many events */
    int nest_depth;           /* FAULT_DEEP: the answer's call arguments nest this deep */
    int remaining;            /* requests left; <0 = permanent */
    int hits;
};

struct mock_settings {
    int sse_events;        /* split each answer into at least this many text events; 0 = by size */
    int sse_chunk_bytes;   /* text bytes per event when sse_events is 0 */
    uint32_t sse_delay_ms; /* pause between events */
    bool accept_any_token; /* Cloud Code accepts unknown bearer tokens */
    /* OpenAI and Anthropic answers carry fields only those providers send (system_fingerprint,
     * an "x_mock_extra" object, cache token counts, Anthropic ping events): what passthrough must
     * keep */
    bool provider_extras;
};

struct mock_record {
    char *method, *target, *headers_json, *body;
};

struct mock {
    uv_loop_t *loop;
    struct ag_http_server *server;
    struct ag_router *router;
    struct mock_settings settings, initial_settings;
    struct mock_account accounts[MOCK_MAX_ACCOUNTS];
    size_t naccounts;
    struct mock_fault faults[MOCK_MAX_FAULTS];
    size_t nfaults;
    int next_fault_id;
    struct mock_record *records; /* ring of MOCK_MAX_RECORDS */
    size_t nrecords, record_head;
    uint64_t requests_total, streams_started, streams_aborted, streams_active;
};

extern struct mock g_mock;

/* ---- state.c ---- */
void mock_state_init(void);
void mock_state_dispose(void);
int mock_accounts_load_file(const char *path);
int mock_account_upsert_json(yyjson_val *obj);
struct mock_account *mock_account_by_access(struct ag_str token);
struct mock_account *mock_account_by_refresh(struct ag_str token);
struct mock_account *mock_account_by_code(struct ag_str code);
/** Finds and consumes the first fault matching (token, model, target); NULL if none. The
 * returned copy is the caller's. */
bool mock_fault_take(struct ag_str token, struct ag_str model, struct ag_str target,
                     struct mock_fault *out);
void mock_record(const struct ag_http_req *req);
void mock_records_clear(void);
void mock_register_control(struct ag_router *r);

/* ---- answer.c: what to say ---- */
enum mock_format { FMT_GEMINI, FMT_CLOUDCODE, FMT_OPENAI, FMT_ANTHROPIC };

#define MOCK_MAX_CALLS 8 /* function calls in one answer */

struct mock_answer {
    struct ag_buf text;    /* "echo: <last user text>" */
    struct ag_buf thought; /* non-empty when thinking was requested */
    char signature[96];
    char call_name[96];      /* non-empty: answer with a function call */
    struct ag_buf call_args; /* JSON object */
    char call_id[40];
    /* Gemini and Cloud Code: the calls after the first in the same turn ("call A with {..} call B
     * with {..}"); the other formats answer with the first call only */
    struct mock_call {
        char name[96];
        char id[40];
        struct ag_buf args; /* JSON object */
    } more[MOCK_MAX_CALLS - 1];
    size_t nmore;
    char model[128];
    int64_t input_tokens, output_tokens, thought_tokens;
    int64_t cached_tokens; /* Cloud Code: prompt tokens the session's earlier request covered */
};

/** What a thought of the mock starts with; the rest is the text it thought about. */
#define MOCK_THOUGHT_PREFIX "Thinking about: "

/** The signature the mock gives a thought about text (MOCK_THOUGHT_PREFIX + text). */
void mock_signature(struct ag_str text, char *out, size_t cap);

/** Reads the request (inner Gemini request for FMT_CLOUDCODE's "request") into an answer. */
void mock_answer_build(struct mock_answer *a, enum mock_format fmt, yyjson_val *root,
                       struct ag_str model, size_t input_bytes);
void mock_answer_dispose(struct mock_answer *a);
/** Splits the answer text into event-sized pieces per the settings; returns the count. */
size_t mock_answer_chunks(const struct mock_answer *a, const struct mock_settings *s,
                          struct ag_str *out, size_t max);

/* ---- deep.c ---- */
struct mock_reply;
/** A 200 answer whose function call arguments nest depth arrays deep (one SSE event when the
 * request streams): what a hostile or broken upstream might send. */
void mock_send_deep(struct mock_reply *r, const struct ag_http_req *req, enum mock_format fmt,
                    int depth);

/* ---- reply.c: delayed, paced, fault-injected responses ---- */
struct mock_reply;
struct mock_reply *mock_reply_new(struct ag_http_req *req);
void mock_reply_set_delay(struct mock_reply *r, uint32_t first_byte_ms, uint32_t between_ms);
void mock_reply_set_fault(struct mock_reply *r, const struct mock_fault *f);
void mock_reply_add_header(struct mock_reply *r, const char *name, const char *value);
/** A whole response (body copied). */
void mock_reply_body(struct mock_reply *r, int status, const char *ctype, const char *body,
                     size_t len);
/** Appends one SSE frame (copied, already formatted "data: ...\n\n"). */
void mock_reply_event(struct mock_reply *r, const char *frame, size_t len);
/** Starts sending: a body response, or the events as text/event-stream. Takes r. */
void mock_reply_send(struct mock_reply *r);

/* ---- provider.c: API keys, strictness and model lists of the provider APIs ---- */
/** Checks the request's API key for fmt's API; answers 401/400/403 itself and returns false when
 * it is missing or refused (keys starting with "bad"). */
bool mock_provider_auth(struct mock_reply *r, const struct ag_http_req *req, enum mock_format fmt);
/** Checks a provider request body as the real API would; answers 400 and returns false when not. */
bool mock_provider_strict(struct mock_reply *r, enum mock_format fmt, yyjson_val *root);
void mock_register_provider(struct ag_router *r);

/* ---- google.c / openai.c ---- */
void mock_register_google(struct ag_router *r);
void mock_register_openai_anthropic(struct ag_router *r);

/* helpers shared by handlers (google.c) */
/** Sends an error in the route's wire format; fault (may be NULL) shapes 429/403 details. */
/* ---- strict.c: the model catalog and Cloud Code's refusals ---- */

/** A model of the mock's catalog and its limits (thinking_budget 0 = not checked). */
struct mock_model {
    const char *id;
    int max_output_tokens;
    int thinking_budget;
};

/** The catalog every account without a scripted quota list offers; returns its size. */
size_t mock_catalog(const struct mock_model **out);

/** A model's limits: the catalog's, else 65536 output tokens and a 32768 thinking budget. */
struct mock_model mock_model_limits(const char *id);

/** True when account a (NULL = any token) offers model: its quota list, else the catalog. */
bool mock_account_offers(const struct mock_account *a, struct ag_str model);

/**
 * Checks a Cloud Code call (method "generateContent", "streamGenerateContent", "countTokens") as
 * the real API does; answers 400 INVALID_ARGUMENT or 404 NOT_FOUND itself and returns false when
 * it refuses it.
 */
bool mock_strict_check(struct mock_reply *r, const char *method, yyjson_val *root,
                       const struct mock_account *a);

void mock_send_error(struct mock_reply *r, enum mock_format fmt, int status, const char *message,
                     const struct mock_fault *fault);
/** Applies a fault that matches this request; true if the reply was fully decided (error sent). */
bool mock_apply_fault(struct ag_http_req *req, struct mock_reply *reply, enum mock_format fmt,
                      struct ag_str token, struct ag_str model);
struct ag_str mock_bearer(const struct ag_http_req *req);
/** Per-request pacing overrides: x-mock-sse-events, x-mock-sse-delay-ms headers. */
struct mock_settings mock_settings_for(const struct ag_http_req *req);
/** Serialises a mutable doc and appends it as one "data: ...\n\n" SSE frame (with event name). */
void mock_reply_json_event(struct mock_reply *r, const char *event, yyjson_mut_doc *doc);

#endif
