/* tests/mock/google.c: Google's side of the mock: OAuth (/token, /userinfo), Cloud Code
 * v1internal (loadCodeAssist, fetchAvailableModels, retrieveUserQuotaSummary, generateContent,
 * streamGenerateContent, countTokens; also under any one-segment prefix, "/<p>/v1internal:...", so
 * one mock can play several endpoints), and the public Gemini API
 * (/v1beta/models/{m}:generateContent| streamGenerateContent|countTokens). Also the helpers every
 * handler shares: faults, errors. */
#include <stdio.h>
#include <stdlib.h>

#include "http/router.h"
#include "http/errfmt.h"
#include "core/json_depth.h"
#include "core/url.h"
#include "mock.h"

/* ---- shared helpers ---- */

struct ag_str mock_bearer(const struct ag_http_req *req)
{
    struct ag_str v = ag_http_req_header(req, "authorization");
    if (v.p && ag_str_has_prefix_ci(v, "Bearer "))
        return ag_str_trim(ag_str_make(v.p + 7, v.len - 7));
    v = ag_http_req_header(req, "x-goog-api-key");
    if (!v.p)
        v = ag_http_req_header(req, "x-api-key");
    return v.p ? v : AG_STR("");
}

struct mock_settings mock_settings_for(const struct ag_http_req *req)
{
    struct mock_settings s = g_mock.settings;
    uint64_t n;
    struct ag_str v = ag_http_req_header(req, "x-mock-sse-events");
    if (v.p && ag_str_to_u64(v, 100000, &n) == 0)
        s.sse_events = (int)n;
    v = ag_http_req_header(req, "x-mock-sse-delay-ms");
    if (v.p && ag_str_to_u64(v, 600000, &n) == 0)
        s.sse_delay_ms = (uint32_t)n;
    return s;
}

static const char *default_message(int status, const struct mock_fault *f, char *buf, size_t cap)
{
    if (status == 429 && f && f->quota_reset[0]) {
        snprintf(buf, cap,
                 "You have exhausted your capacity on this model. Your quota will "
                 "reset after %s.",
                 f->quota_reset);
        return buf;
    }
    switch (status) {
    case 401:
        return "Request had invalid authentication credentials. Expected OAuth 2 access "
               "token, login cookie or other valid authentication credential.";
    case 403:
        return f && f->validation_url[0] ? "Verify your account to continue."
                                         : "The caller does not have permission";
    case 404:
        return "Requested entity was not found.";
    case 429:
        return "Resource has been exhausted (e.g. check quota).";
    case 500:
        return "Internal error encountered.";
    case 503:
        return "The model is overloaded. Please try again later.";
    case 529:
        return "Overloaded";
    default:
        return "Request failed.";
    }
}

void mock_send_error(struct mock_reply *r, enum mock_format fmt, int status, const char *message,
                     const struct mock_fault *f)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc), *err;
    char buf[256];
    size_t len;
    char *json;

    if (f && f->retry_after >= 0) {
        snprintf(buf, sizeof(buf), "%d", f->retry_after);
        mock_reply_add_header(r, "Retry-After", buf);
    }
    if (f && f->body[0]) {
        mock_reply_body(r, status, "application/json", f->body, strlen(f->body));
        yyjson_mut_doc_free(doc);
        return;
    }
    if (!message)
        message = default_message(status, f, buf, sizeof(buf));
    yyjson_mut_doc_set_root(doc, root);
    if (fmt == FMT_OPENAI) {
        err = yyjson_mut_obj_add_obj(doc, root, "error");
        yyjson_mut_obj_add_strcpy(doc, err, "message", message);
        yyjson_mut_obj_add_str(doc, err, "type",
                               status == 429   ? "rate_limit_exceeded"
                               : status == 401 ? "invalid_request_error"
                               : status >= 500 ? "server_error"
                                               : "invalid_request_error");
        yyjson_mut_obj_add_null(doc, err, "param");
        yyjson_mut_obj_add_str(doc, err, "code", status == 401 ? "invalid_api_key" : NULL);
    } else if (fmt == FMT_ANTHROPIC) {
        yyjson_mut_obj_add_str(doc, root, "type", "error");
        err = yyjson_mut_obj_add_obj(doc, root, "error");
        yyjson_mut_obj_add_str(doc, err, "type", ag_errfmt_anthropic_type(status));
        yyjson_mut_obj_add_strcpy(doc, err, "message", message);
    } else {
        yyjson_mut_val *details, *d, *meta;
        err = yyjson_mut_obj_add_obj(doc, root, "error");
        yyjson_mut_obj_add_int(doc, err, "code", status);
        yyjson_mut_obj_add_strcpy(doc, err, "message", message);
        yyjson_mut_obj_add_str(doc, err, "status", ag_errfmt_gemini_status(status));
        if (f && status == 429) {
            details = yyjson_mut_obj_add_arr(doc, err, "details");
            d = yyjson_mut_arr_add_obj(doc, details);
            yyjson_mut_obj_add_str(doc, d, "@type", "type.googleapis.com/google.rpc.ErrorInfo");
            yyjson_mut_obj_add_strcpy(doc, d, "reason",
                                      f->reason[0]        ? f->reason
                                      : f->quota_reset[0] ? "QUOTA_EXHAUSTED"
                                                          : "RATE_LIMIT_EXCEEDED");
            yyjson_mut_obj_add_str(doc, d, "domain", "cloudcode-pa.googleapis.com");
            meta = yyjson_mut_obj_add_obj(doc, d, "metadata");
            if (f->quota_reset[0])
                yyjson_mut_obj_add_strcpy(doc, meta, "quotaResetDelay", f->quota_reset);
            if (f->model[0])
                yyjson_mut_obj_add_strcpy(doc, meta, "model", f->model);
            if (f->retry_delay[0]) {
                d = yyjson_mut_arr_add_obj(doc, details);
                yyjson_mut_obj_add_str(doc, d, "@type", "type.googleapis.com/google.rpc.RetryInfo");
                yyjson_mut_obj_add_strcpy(doc, d, "retryDelay", f->retry_delay);
            }
        } else if (f && status == 403 && f->validation_url[0]) {
            details = yyjson_mut_obj_add_arr(doc, err, "details");
            d = yyjson_mut_arr_add_obj(doc, details);
            yyjson_mut_obj_add_str(doc, d, "@type", "type.googleapis.com/google.rpc.ErrorInfo");
            yyjson_mut_obj_add_str(doc, d, "reason", "VALIDATION_REQUIRED");
            yyjson_mut_obj_add_str(doc, d, "domain", "cloudcode-pa.googleapis.com");
            meta = yyjson_mut_obj_add_obj(doc, d, "metadata");
            yyjson_mut_obj_add_strcpy(doc, meta, "validation_url", f->validation_url);
        }
    }
    json = yyjson_mut_write(doc, 0, &len);
    mock_reply_body(r, status, "application/json", json, len);
    free(json);
    yyjson_mut_doc_free(doc);
}

bool mock_apply_fault(struct ag_http_req *req, struct mock_reply *reply, enum mock_format fmt,
                      struct ag_str token, struct ag_str model)
{
    struct mock_fault f;

    if (!mock_fault_take(token, model, req->target, &f))
        return false;
    mock_reply_set_fault(reply, &f);
    if (f.kind == FAULT_DEEP) {
        mock_send_deep(reply, req, fmt, f.nest_depth);
        return true;
    }
    if (f.kind != FAULT_STATUS)
        return false;
    mock_send_error(reply, fmt, f.status, NULL, &f);
    return true;
}

static void send_json(struct mock_reply *r, int status, yyjson_mut_doc *doc)
{
    size_t len;
    char *json = yyjson_mut_write(doc, 0, &len);
    mock_reply_body(r, status, "application/json", json, len);
    free(json);
    yyjson_mut_doc_free(doc);
}

static void send_oauth_error(struct mock_reply *r, int status, const char *error,
                             const char *description)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, o);
    yyjson_mut_obj_add_str(doc, o, "error", error);
    yyjson_mut_obj_add_str(doc, o, "error_description", description);
    send_json(r, status, doc);
}

/* ---- OAuth ---- */

/* The decoded value of key in a form body, cut to fit buf; AG_STR_NULL when absent. */
static struct ag_str form_value(struct ag_str body, const char *key, char *buf, size_t cap)
{
    struct ag_str raw = ag_url_query_find(body, key);
    if (!raw.p)
        return AG_STR_NULL;
    size_t n = ag_url_decode(raw, buf, cap);
    return ag_str_make(buf, n < cap ? n : cap - 1);
}

static void token_answer(struct mock_reply *r, const struct mock_account *a, bool with_refresh)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, o);
    yyjson_mut_obj_add_strcpy(doc, o, "access_token", a->access_token);
    yyjson_mut_obj_add_int(doc, o, "expires_in", 3599);
    if (with_refresh) {
        yyjson_mut_obj_add_strcpy(doc, o, "refresh_token", a->refresh_token);
        yyjson_mut_obj_add_str(doc, o, "id_token", "mock.id.token");
    }
    yyjson_mut_obj_add_str(doc, o, "scope",
                           "https://www.googleapis.com/auth/cloud-platform "
                           "https://www.googleapis.com/auth/userinfo.email openid");
    yyjson_mut_obj_add_str(doc, o, "token_type", "Bearer");
    send_json(r, 200, doc);
}

static void h_token(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    struct ag_str body = ag_buf_str(&req->body);
    char gt[64], tok[512], cid[256];
    struct ag_str grant, t;
    struct mock_account *a;
    (void)ud;

    mock_record(req);
    g_mock.requests_total++;
    grant = form_value(body, "grant_type", gt, sizeof(gt));
    if (ag_str_eq_c(grant, "refresh_token"))
        t = form_value(body, "refresh_token", tok, sizeof(tok));
    else
        t = form_value(body, "code", tok, sizeof(tok));
    if (!t.p)
        t = AG_STR("");
    if (mock_apply_fault(req, r, FMT_GEMINI, t, AG_STR(""))) {
        mock_reply_send(r);
        return;
    }
    if (!form_value(body, "client_id", cid, sizeof(cid)).p) {
        send_oauth_error(r, 400, "invalid_request", "Missing required parameter: client_id");
    } else if (ag_str_eq_c(grant, "refresh_token")) {
        a = mock_account_by_refresh(t);
        if (!a || a->revoked)
            send_oauth_error(r, 400, "invalid_grant", "Token has been expired or revoked.");
        else
            token_answer(r, a, false);
    } else if (ag_str_eq_c(grant, "authorization_code")) {
        a = mock_account_by_code(t);
        if (!a || a->revoked)
            send_oauth_error(r, 400, "invalid_grant", "Malformed auth code.");
        else
            token_answer(r, a, true);
    } else {
        send_oauth_error(r, 400, "unsupported_grant_type", "Invalid grant_type.");
    }
    mock_reply_send(r);
}

/* GET /o/oauth2/v2/auth: the consent page, already agreed to — redirects at once to redirect_uri
 * with the code of the account named by login_hint (else the first account) and the state. */
static void h_auth(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    char redirect[1024], state[256], hint[256], *loc;
    struct mock_account *a = g_mock.naccounts ? &g_mock.accounts[0] : NULL;
    struct ag_buf b;
    (void)ud;

    mock_record(req);
    g_mock.requests_total++;
    if (form_value(req->query, "login_hint", hint, sizeof(hint)).p) {
        for (size_t i = 0; i < g_mock.naccounts; i++) {
            if (strcmp(g_mock.accounts[i].email, hint) == 0)
                a = &g_mock.accounts[i];
        }
    }
    if (!form_value(req->query, "redirect_uri", redirect, sizeof(redirect)).p ||
        !form_value(req->query, "client_id", hint, sizeof(hint)).p || !a) {
        mock_reply_body(r, 400, "text/plain", "invalid_request", 15);
        mock_reply_send(r);
        return;
    }
    if (!form_value(req->query, "state", state, sizeof(state)).p)
        state[0] = '\0';
    ag_buf_init(&b, 0);
    ag_buf_printf(&b, "%s%scode=", redirect, strchr(redirect, '?') ? "&" : "?");
    for (const char *p = a->code; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            ag_buf_append(&b, p, 1);
        else
            ag_buf_printf(&b, "%%%02X", (unsigned char)*p);
    }
    ag_buf_printf(&b, "&state=%s", state);
    loc = b.data;
    mock_reply_add_header(r, "Location", loc);
    mock_reply_body(r, 302, "text/plain", "", 0);
    mock_reply_send(r);
    ag_buf_dispose(&b);
}

static void h_userinfo(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    struct ag_str tok = mock_bearer(req);
    struct mock_account *a;
    (void)ud;

    mock_record(req);
    g_mock.requests_total++;
    if (mock_apply_fault(req, r, FMT_GEMINI, tok, AG_STR(""))) {
        mock_reply_send(r);
        return;
    }
    a = mock_account_by_access(tok);
    if (!a) {
        mock_send_error(r, FMT_GEMINI, 401, NULL, NULL);
    } else {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *o = yyjson_mut_obj(doc);
        char name[160];
        yyjson_mut_doc_set_root(doc, o);
        yyjson_mut_obj_add_str(doc, o, "id", "104000000000000000001");
        yyjson_mut_obj_add_strcpy(doc, o, "email", a->email);
        yyjson_mut_obj_add_bool(doc, o, "verified_email", true);
        snprintf(name, sizeof(name), "Mock %s", a->email);
        yyjson_mut_obj_add_strcpy(doc, o, "name", name);
        yyjson_mut_obj_add_str(doc, o, "given_name", "Mock");
        yyjson_mut_obj_add_str(doc, o, "picture", "https://example.invalid/avatar.png");
        send_json(r, 200, doc);
    }
    mock_reply_send(r);
}

/* ---- Cloud Code ---- */

static yyjson_doc *parse_body(struct ag_http_req *req)
{
    /* The gateway wraps a client's checked JSON in a few envelopes: the internal limit. */
    return req->body.len ? ag_json_depth_read(req->body.data, req->body.len, AG_JSON_DEPTH_INTERNAL,
                                              NULL, NULL, NULL)
                         : NULL;
}

/* Authenticates a Cloud Code call; answers 401 itself and returns NULL when it fails. */
static bool cc_auth(struct mock_reply *r, struct ag_str tok, struct mock_account **out)
{
    *out = mock_account_by_access(tok);
    if (*out || g_mock.settings.accept_any_token)
        return true;
    mock_send_error(r, FMT_CLOUDCODE, 401, NULL, NULL);
    return false;
}

static void h_load_code_assist(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    struct ag_str tok = mock_bearer(req);
    struct mock_account *a;
    (void)ud;

    mock_record(req);
    g_mock.requests_total++;
    if (!mock_apply_fault(req, r, FMT_CLOUDCODE, tok, AG_STR("")) && cc_auth(r, tok, &a)) {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *o = yyjson_mut_obj(doc), *t, *arr;
        const char *tier = a ? a->tier : "FREE";
        bool paid = strcmp(tier, "PRO") == 0 || strcmp(tier, "ULTRA") == 0;
        yyjson_mut_doc_set_root(doc, o);
        t = yyjson_mut_obj_add_obj(doc, o, "currentTier");
        yyjson_mut_obj_add_str(doc, t, "id", "standard-tier");
        yyjson_mut_obj_add_str(doc, t, "name", "Gemini Code Assist");
        yyjson_mut_obj_add_str(doc, t, "description", "Unlimited coding assistant");
        yyjson_mut_obj_add_bool(doc, t, "userDefinedCloudaicompanionProject", false);
        arr = yyjson_mut_obj_add_arr(doc, o, "allowedTiers");
        t = yyjson_mut_arr_add_obj(doc, arr);
        yyjson_mut_obj_add_str(doc, t, "id", "standard-tier");
        yyjson_mut_obj_add_str(doc, t, "name", "Gemini Code Assist");
        yyjson_mut_obj_add_bool(doc, t, "isDefault", true);
        yyjson_mut_obj_add_strcpy(doc, o, "cloudaicompanionProject",
                                  a ? a->project : "mock-project-any");
        if (paid) {
            t = yyjson_mut_obj_add_obj(doc, o, "paidTier");
            yyjson_mut_obj_add_str(doc, t, "id",
                                   strcmp(tier, "ULTRA") == 0 ? "g1-ultra-tier" : "g1-pro-tier");
            yyjson_mut_obj_add_str(
                doc, t, "name", strcmp(tier, "ULTRA") == 0 ? "Google AI Ultra" : "Google AI Pro");
        }
        send_json(r, 200, doc);
    }
    mock_reply_send(r);
}

static void add_model(yyjson_mut_doc *doc, yyjson_mut_val *models, const char *id, double rem,
                      const char *reset)
{
    yyjson_mut_val *m = yyjson_mut_obj_add_obj(doc, models, id), *q;
    bool claude = strncmp(id, "claude", 6) == 0;
    struct mock_model lim = mock_model_limits(id);
    yyjson_mut_obj_add_strcpy(doc, m, "displayName", id);
    yyjson_mut_obj_add_bool(doc, m, "supportsImages", !claude);
    yyjson_mut_obj_add_bool(doc, m, "supportsThinking", lim.thinking_budget > 0);
    if (lim.thinking_budget > 0)
        yyjson_mut_obj_add_int(doc, m, "thinkingBudget", lim.thinking_budget);
    yyjson_mut_obj_add_bool(doc, m, "recommended", true);
    yyjson_mut_obj_add_int(doc, m, "maxTokens", claude ? 200000 : 1048576);
    yyjson_mut_obj_add_int(doc, m, "maxOutputTokens", lim.max_output_tokens);
    q = yyjson_mut_obj_add_obj(doc, m, "quotaInfo");
    yyjson_mut_obj_add_real(doc, q, "remainingFraction", rem);
    yyjson_mut_obj_add_strcpy(doc, q, "resetTime",
                              reset && *reset ? reset : "2030-01-01T00:00:00Z");
}

static void h_fetch_models(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    const struct mock_model *defaults;
    size_t ndefaults = mock_catalog(&defaults);
    struct ag_str tok = mock_bearer(req);
    struct mock_account *a;
    (void)ud;

    mock_record(req);
    g_mock.requests_total++;
    if (!mock_apply_fault(req, r, FMT_CLOUDCODE, tok, AG_STR("")) && cc_auth(r, tok, &a)) {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *o = yyjson_mut_obj(doc), *models, *dep;
        yyjson_mut_doc_set_root(doc, o);
        models = yyjson_mut_obj_add_obj(doc, o, "models");
        if (a && a->nquotas) {
            for (size_t i = 0; i < a->nquotas; i++)
                add_model(doc, models, a->quotas[i].model, a->quotas[i].remaining,
                          a->quotas[i].reset_time);
        } else {
            for (size_t i = 0; i < ndefaults; i++)
                add_model(doc, models, defaults[i].id, 1.0, NULL);
        }
        /* Retired ids the real API announces, in its shape: {"old": {"newModelId": "new"}}. */
        yyjson_mut_val *deps = yyjson_mut_obj_add_obj(doc, o, "deprecatedModelIds");
        dep = yyjson_mut_obj_add_obj(doc, deps, "gemini-2.5-pro-preview");
        yyjson_mut_obj_add_str(doc, dep, "newModelId", "gemini-2.5-pro");
        dep = yyjson_mut_obj_add_obj(doc, deps, "gemini-3.1-pro-high");
        yyjson_mut_obj_add_str(doc, dep, "newModelId", "gemini-pro-agent");
        dep = yyjson_mut_obj_add_obj(doc, deps, "claude-sonnet-4-5");
        yyjson_mut_obj_add_str(doc, dep, "newModelId", "claude-sonnet-4-6");
        send_json(r, 200, doc);
    }
    mock_reply_send(r);
}

/* retrieveUserQuotaSummary: a 5-hour and a weekly bucket for Gemini and for Claude, each with the
 * least remaining fraction of the account's models of that family (1.0 without any); the 5-hour
 * window resets at the earliest reset time given, the weekly one in 2030. */
static void h_quota_summary(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    struct ag_str tok = mock_bearer(req);
    struct mock_account *a;
    static const struct {
        const char *name, *prefix, *id;
    } fam[] = {{"Gemini Models", "gemini", "gemini"}, {"Claude and GPT models", "claude", "3p"}};
    (void)ud;

    mock_record(req);
    g_mock.requests_total++;
    /* no scripted faults here: they are for the calls tests count, and this one is optional */
    if (cc_auth(r, tok, &a)) {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *o = yyjson_mut_obj(doc);
        yyjson_mut_doc_set_root(doc, o);
        yyjson_mut_val *groups = yyjson_mut_obj_add_arr(doc, o, "groups");
        for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
            double rem = 1.0;
            const char *reset = "2030-01-01T00:00:00Z";
            for (size_t i = 0; a && i < a->nquotas; i++) {
                if (strncmp(a->quotas[i].model, fam[f].prefix, strlen(fam[f].prefix)) != 0)
                    continue;
                if (a->quotas[i].remaining < rem)
                    rem = a->quotas[i].remaining;
                if (a->quotas[i].reset_time[0])
                    reset = a->quotas[i].reset_time;
            }
            yyjson_mut_val *g = yyjson_mut_arr_add_obj(doc, groups);
            yyjson_mut_obj_add_str(doc, g, "displayName", fam[f].name);
            yyjson_mut_val *bs = yyjson_mut_obj_add_arr(doc, g, "buckets");
            static const char *const windows[] = {"5h", "weekly"};
            for (size_t w = 0; w < 2; w++) {
                char id[32];
                snprintf(id, sizeof(id), "%s-%s", fam[f].id, windows[w]);
                yyjson_mut_val *b = yyjson_mut_arr_add_obj(doc, bs);
                yyjson_mut_obj_add_strcpy(doc, b, "bucketId", id);
                yyjson_mut_obj_add_str(doc, b, "window", windows[w]);
                yyjson_mut_obj_add_real(doc, b, "remainingFraction", w == 0 ? rem : 1.0);
                yyjson_mut_obj_add_strcpy(doc, b, "resetTime",
                                          w == 0 ? reset : "2030-01-06T00:00:00Z");
                yyjson_mut_obj_add_str(doc, b, "displayName", w == 0 ? "5-hour" : "Weekly");
            }
        }
        send_json(r, 200, doc);
    }
    mock_reply_send(r);
}

/* One GenerateContentResponse; parts chosen by the caller. */
static yyjson_mut_val *gemini_response(yyjson_mut_doc *doc, const struct mock_answer *a,
                                       yyjson_mut_val **parts, bool final)
{
    yyjson_mut_val *o = yyjson_mut_obj(doc), *cands, *c, *content;
    cands = yyjson_mut_obj_add_arr(doc, o, "candidates");
    c = yyjson_mut_arr_add_obj(doc, cands);
    content = yyjson_mut_obj_add_obj(doc, c, "content");
    yyjson_mut_obj_add_str(doc, content, "role", "model");
    *parts = yyjson_mut_obj_add_arr(doc, content, "parts");
    if (final) {
        yyjson_mut_val *u;
        yyjson_mut_obj_add_str(doc, c, "finishReason", "STOP");
        u = yyjson_mut_obj_add_obj(doc, o, "usageMetadata");
        yyjson_mut_obj_add_int(doc, u, "promptTokenCount", a->input_tokens);
        if (a->cached_tokens)
            yyjson_mut_obj_add_int(doc, u, "cachedContentTokenCount", a->cached_tokens);
        yyjson_mut_obj_add_int(doc, u, "candidatesTokenCount", a->output_tokens);
        if (a->thought_tokens)
            yyjson_mut_obj_add_int(doc, u, "thoughtsTokenCount", a->thought_tokens);
        yyjson_mut_obj_add_int(doc, u, "totalTokenCount",
                               a->input_tokens + a->output_tokens + a->thought_tokens);
    }
    yyjson_mut_obj_add_strcpy(doc, o, "modelVersion", a->model);
    yyjson_mut_obj_add_str(doc, o, "responseId", "mock-response-1");
    return o;
}

static void add_text_part(yyjson_mut_doc *doc, yyjson_mut_val *parts, struct ag_str text,
                          bool thought, const char *sig)
{
    yyjson_mut_val *p = yyjson_mut_arr_add_obj(doc, parts);
    yyjson_mut_obj_add_strncpy(doc, p, "text", text.p ? text.p : "", text.len);
    if (thought)
        yyjson_mut_obj_add_bool(doc, p, "thought", true);
    if (sig && *sig)
        yyjson_mut_obj_add_strcpy(doc, p, "thoughtSignature", sig);
}

/* Claude signs its thinking (the thought part carries the signature); Gemini signs its first call
 * or, without one, its first text part. */
static bool signs_thought(const struct mock_answer *a)
{
    return strncmp(a->model, "claude", 6) == 0;
}

static void add_one_call(yyjson_mut_doc *doc, yyjson_mut_val *parts, const char *name,
                         const char *id, const struct ag_buf *json, const char *sig)
{
    yyjson_mut_val *p = yyjson_mut_arr_add_obj(doc, parts), *fc;
    yyjson_doc *args =
        ag_json_depth_read(json->data, json->len, AG_JSON_DEPTH_INTERNAL, NULL, NULL, NULL);
    fc = yyjson_mut_obj_add_obj(doc, p, "functionCall");
    yyjson_mut_obj_add_strcpy(doc, fc, "name", name);
    yyjson_mut_obj_add_val(doc, fc, "args", yyjson_val_mut_copy(doc, yyjson_doc_get_root(args)));
    yyjson_mut_obj_add_strcpy(doc, fc, "id", id);
    yyjson_doc_free(args);
    if (sig)
        yyjson_mut_obj_add_strcpy(doc, p, "thoughtSignature", sig);
}

/* The answer's calls, all in one content: only the first carries Gemini's signature. */
static void add_call_part(yyjson_mut_doc *doc, yyjson_mut_val *parts, const struct mock_answer *a)
{
    add_one_call(doc, parts, a->call_name, a->call_id, &a->call_args,
                 a->signature[0] && !signs_thought(a) ? a->signature : NULL);
    for (size_t i = 0; i < a->nmore; i++)
        add_one_call(doc, parts, a->more[i].name, a->more[i].id, &a->more[i].args, NULL);
}

/* Wraps a Gemini response in Cloud Code's {"response":...} envelope when asked. */
static yyjson_mut_doc *wrap(yyjson_mut_doc *doc, yyjson_mut_val *resp, bool cloudcode)
{
    if (cloudcode) {
        yyjson_mut_val *env = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_val(doc, env, "response", resp);
        yyjson_mut_obj_add_str(doc, env, "traceId", "mocktrace0001");
        yyjson_mut_doc_set_root(doc, env);
    } else {
        yyjson_mut_doc_set_root(doc, resp);
    }
    return doc;
}

static void gemini_answer(struct mock_reply *r, const struct mock_answer *a,
                          const struct mock_settings *s, bool stream, bool cloudcode)
{
    yyjson_mut_doc *doc;
    yyjson_mut_val *resp, *parts;
    const char *thought_sig = signs_thought(a) ? a->signature : NULL;
    const char *text_sig = signs_thought(a) ? NULL : a->signature;

    if (!stream) {
        doc = yyjson_mut_doc_new(NULL);
        resp = gemini_response(doc, a, &parts, true);
        if (a->thought.len)
            add_text_part(doc, parts, ag_buf_str(&a->thought), true, thought_sig);
        if (a->call_name[0])
            add_call_part(doc, parts, a);
        else
            add_text_part(doc, parts, ag_buf_str(&a->text), false, text_sig);
        send_json(r, 200, wrap(doc, resp, cloudcode));
        return;
    }
    mock_reply_set_delay(r, 0, s->sse_delay_ms);
    if (a->thought.len) {
        doc = yyjson_mut_doc_new(NULL);
        resp = gemini_response(doc, a, &parts, false);
        add_text_part(doc, parts, ag_buf_str(&a->thought), true, thought_sig);
        mock_reply_json_event(r, NULL, wrap(doc, resp, cloudcode));
        yyjson_mut_doc_free(doc);
    }
    if (a->call_name[0]) {
        doc = yyjson_mut_doc_new(NULL);
        resp = gemini_response(doc, a, &parts, true);
        add_call_part(doc, parts, a);
        mock_reply_json_event(r, NULL, wrap(doc, resp, cloudcode));
        yyjson_mut_doc_free(doc);
        return;
    }
    {
        struct ag_str chunks[4096];
        size_t n = mock_answer_chunks(a, s, chunks, 4096);
        for (size_t i = 0; i < n; i++) {
            doc = yyjson_mut_doc_new(NULL);
            resp = gemini_response(doc, a, &parts, i + 1 == n);
            add_text_part(doc, parts, chunks[i], false, i == 0 ? text_sig : NULL);
            mock_reply_json_event(r, NULL, wrap(doc, resp, cloudcode));
            yyjson_mut_doc_free(doc);
        }
    }
}

/* A 1x1 PNG: what every generated image of the mock looks like. */
#define MOCK_PNG_B64                                                                               \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJg" \
    "gg=="

/* requestType "image_gen": candidateCount candidates, each the echo text and one PNG; a prompt
 * containing "refuse" gets no image and finishReason IMAGE_SAFETY. */
static void image_answer(struct mock_reply *r, const struct mock_answer *a, yyjson_val *root)
{
    yyjson_val *gc = yyjson_obj_get(yyjson_obj_get(root, "request"), "generationConfig");
    int64_t n = yyjson_get_sint(yyjson_obj_get(gc, "candidateCount"));
    bool refuse = memmem(a->text.data, a->text.len, "refuse", 6) != NULL;
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *parts, *resp = gemini_response(doc, a, &parts, true);
    yyjson_mut_val *cands = yyjson_mut_obj_get(resp, "candidates");
    yyjson_mut_val *first = yyjson_mut_arr_get_first(cands);
    n = n < 1 ? 1 : (n > 8 ? 8 : n);
    for (int64_t i = 0; i < n; i++) {
        yyjson_mut_val *c = i ? yyjson_mut_arr_add_obj(doc, cands) : first, *content, *p, *inl;
        if (i) {
            content = yyjson_mut_obj_add_obj(doc, c, "content");
            yyjson_mut_obj_add_str(doc, content, "role", "model");
            parts = yyjson_mut_obj_add_arr(doc, content, "parts");
            yyjson_mut_obj_add_int(doc, c, "index", i);
        }
        yyjson_mut_obj_remove_key(c, "finishReason");
        yyjson_mut_obj_add_str(doc, c, "finishReason", refuse ? "IMAGE_SAFETY" : "STOP");
        add_text_part(doc, parts, ag_buf_str(&a->text), false, NULL);
        if (refuse)
            continue;
        p = yyjson_mut_arr_add_obj(doc, parts);
        inl = yyjson_mut_obj_add_obj(doc, p, "inlineData");
        yyjson_mut_obj_add_str(doc, inl, "mimeType", "image/png");
        yyjson_mut_obj_add_str(doc, inl, "data", MOCK_PNG_B64);
    }
    send_json(r, 200, wrap(doc, resp, true));
}

static void count_tokens(struct mock_reply *r, size_t body_len)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, o);
    yyjson_mut_obj_add_int(doc, o, "totalTokens", (int64_t)(body_len / 4) + 1);
    send_json(r, 200, doc);
}

/* Google's implicit prompt cache, as far as a client can see it: a request whose sessionId and
 * model came before finds the earlier request's prompt cached (all but its last token at most). A
 * small table; the least recently used session goes when it is full. */
#define PROMPT_CACHE_SLOTS 256

static struct {
    char key[160];
    int64_t tokens;
    uint64_t used;
} prompt_cache[PROMPT_CACHE_SLOTS];
static uint64_t prompt_cache_clock;

static int64_t prompt_cache_hit(yyjson_val *root, struct ag_str model, int64_t tokens)
{
    yyjson_val *sid = yyjson_obj_get(yyjson_obj_get(root, "request"), "sessionId");
    char key[160];
    size_t slot = 0;
    if (!yyjson_is_str(sid))
        return 0;
    snprintf(key, sizeof(key), "%s|%.*s", yyjson_get_str(sid), (int)model.len,
             model.p ? model.p : "");
    for (size_t i = 0; i < PROMPT_CACHE_SLOTS; i++) {
        if (strcmp(prompt_cache[i].key, key) == 0) {
            slot = i;
            break;
        }
        if (prompt_cache[i].used < prompt_cache[slot].used)
            slot = i;
    }
    int64_t hit = 0;
    if (strcmp(prompt_cache[slot].key, key) == 0)
        hit = prompt_cache[slot].tokens < tokens ? prompt_cache[slot].tokens : tokens - 1;
    ag_strlcpy(prompt_cache[slot].key, key, sizeof(prompt_cache[slot].key));
    prompt_cache[slot].tokens = tokens;
    prompt_cache[slot].used = ++prompt_cache_clock;
    return hit;
}

/* An Anthropic error as Cloud Code relays it for Claude models: the Anthropic error JSON as the
 * text of a Google 400 INVALID_ARGUMENT. */
static void claude_invalid(struct mock_reply *r, const char *message)
{
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc), *e = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, o);
    yyjson_mut_obj_add_str(doc, o, "type", "error");
    yyjson_mut_obj_add_str(doc, e, "type", "invalid_request_error");
    yyjson_mut_obj_add_strcpy(doc, e, "message", message);
    yyjson_mut_obj_add_val(doc, o, "error", e);
    yyjson_mut_obj_add_str(doc, o, "request_id", "req_vrtx_mock0001");
    char *json = yyjson_mut_write(doc, 0, NULL);
    mock_send_error(r, FMT_CLOUDCODE, 400, json ? json : message, NULL);
    free(json);
    yyjson_mut_doc_free(doc);
}

/* Claude with thinking on checks the latest assistant turn of a tool loop the way the real API
 * does: it must open with the signed thinking block of that turn, text unchanged (here: the text
 * the mock's signature was made for). Answers 400 and returns false when it does not. */
static bool claude_thinking_ok(struct mock_reply *r, yyjson_val *root, struct ag_str model)
{
    yyjson_val *req = yyjson_obj_get(root, "request");
    yyjson_val *tc = yyjson_obj_get(yyjson_obj_get(req, "generationConfig"), "thinkingConfig");
    yyjson_val *budget = yyjson_obj_get(tc, "thinkingBudget");
    bool on = (yyjson_is_num(budget) && yyjson_get_num(budget) > 0) ||
              yyjson_get_bool(yyjson_obj_get(tc, "includeThoughts"));
    if (!ag_str_has_prefix(model, "claude") || !on)
        return true;
    yyjson_val *contents = yyjson_obj_get(req, "contents"), *c, *last = NULL, *p;
    size_t i, n, last_i = 0, j, m;
    bool calls = false;
    yyjson_arr_foreach(contents, i, n, c)
    {
        const char *role = yyjson_get_str(yyjson_obj_get(c, "role"));
        if (role && strcmp(role, "model") == 0) {
            last = c;
            last_i = i;
        }
    }
    yyjson_arr_foreach(yyjson_obj_get(last, "parts"), j, m, p)
    {
        calls = calls || yyjson_obj_get(p, "functionCall");
    }
    if (!calls)
        return true;
    yyjson_val *first = yyjson_arr_get_first(yyjson_obj_get(last, "parts"));
    yyjson_val *sig = yyjson_obj_get(first, "thoughtSignature");
    if (!sig)
        sig = yyjson_obj_get(first, "thought_signature");
    char msg[1024];
    if (!yyjson_get_bool(yyjson_obj_get(first, "thought")) || !yyjson_get_len(sig)) {
        snprintf(msg, sizeof(msg),
                 "messages.%zu.content.0.type: Expected `thinking` or `redacted_thinking`, but "
                 "found `%s`. When `thinking` is enabled, a final `assistant` message must start "
                 "with a thinking block (preceeding the lastmost set of `tool_use` and "
                 "`tool_result` blocks). We recommend you include thinking blocks from previous "
                 "turns. To avoid this requirement, disable `thinking`. Please consult our "
                 "documentation at https://docs.claude.com/en/docs/build-with-claude/"
                 "extended-thinking",
                 last_i, yyjson_obj_get(first, "functionCall") ? "tool_use" : "text");
        claude_invalid(r, msg);
        return false;
    }
    yyjson_val *tx = yyjson_obj_get(first, "text");
    struct ag_str text = ag_str_make(yyjson_get_str(tx), yyjson_get_len(tx));
    char want[96] = "";
    if (ag_str_has_prefix(text, MOCK_THOUGHT_PREFIX))
        mock_signature(ag_str_make(text.p + strlen(MOCK_THOUGHT_PREFIX),
                                   text.len - strlen(MOCK_THOUGHT_PREFIX)),
                       want, sizeof(want));
    if (strcmp(want, yyjson_get_str(sig)) != 0) {
        snprintf(msg, sizeof(msg),
                 "messages.%zu.content.0: `thinking` or `redacted_thinking` blocks in the latest "
                 "assistant message cannot be modified. These blocks must remain as they were in "
                 "the original response.",
                 last_i);
        claude_invalid(r, msg);
        return false;
    }
    return true;
}

/* Image models: Antigravity Manager always calls them with requestType image_gen and without
 * tools or system instruction, and Gemini image models refuse function calling; the mock holds
 * requests to that (400 INVALID_ARGUMENT) so a chat request that reaches an image model as an
 * agent call fails here too. */
static bool image_request_ok(struct mock_reply *r, yyjson_val *root, struct ag_str model)
{
    const char *rt = yyjson_get_str(yyjson_obj_get(root, "requestType"));
    bool image_gen = rt && strcmp(rt, "image_gen") == 0;
    bool image_model = model.len && memmem(model.p, model.len, "-image", 6) != NULL;
    yyjson_val *req = yyjson_obj_get(root, "request");
    char msg[256];
    if (image_model && !image_gen) {
        snprintf(msg, sizeof(msg), "Model %.*s only serves requestType image_gen, not %s.",
                 (int)model.len, model.p, rt ? rt : "(none)");
    } else if (image_gen && yyjson_arr_size(yyjson_obj_get(req, "tools"))) {
        snprintf(msg, sizeof(msg), "Function calling is not enabled for models/%.*s",
                 (int)model.len, model.p);
    } else if (image_gen && yyjson_obj_get(req, "systemInstruction")) {
        snprintf(msg, sizeof(msg), "Developer instruction is not enabled for models/%.*s",
                 (int)model.len, model.p);
    } else {
        return true;
    }
    mock_send_error(r, FMT_CLOUDCODE, 400, msg, NULL);
    return false;
}

static void h_cloudcode(struct ag_http_req *req, void *ud)
{
    const char *method = ud;
    struct mock_reply *r = mock_reply_new(req);
    struct ag_str tok = mock_bearer(req), model = AG_STR("");
    yyjson_doc *doc = parse_body(req);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL, *m;
    struct mock_account *a;
    struct mock_settings s = mock_settings_for(req);

    mock_record(req);
    g_mock.requests_total++;
    m = yyjson_obj_get(root, "model");
    if (yyjson_is_str(m))
        model = ag_str_make(yyjson_get_str(m), yyjson_get_len(m));
    if (mock_apply_fault(req, r, FMT_CLOUDCODE, tok, model) || !cc_auth(r, tok, &a)) {
        /* answered */
    } else if (!yyjson_is_obj(root)) {
        mock_send_error(r, FMT_CLOUDCODE, 400, "Invalid JSON payload received.", NULL);
    } else if (!mock_strict_check(r, method, root, a)) {
        /* answered: refused as the real API refuses it (strict.c) */
    } else if (strcmp(method, "countTokens") == 0) {
        count_tokens(r, req->body.len);
    } else if (!claude_thinking_ok(r, root, model) || !image_request_ok(r, root, model)) {
        /* answered */
    } else {
        struct mock_answer ans;
        bool stream = strcmp(method, "streamGenerateContent") == 0;
        mock_answer_build(&ans, FMT_CLOUDCODE, root, model, req->body.len);
        ans.cached_tokens = prompt_cache_hit(root, model, ans.input_tokens);
        const char *rt = yyjson_get_str(yyjson_obj_get(root, "requestType"));
        if (rt && strcmp(rt, "image_gen") == 0)
            image_answer(r, &ans, root);
        else
            gemini_answer(r, &ans, &s, stream, true);
        mock_answer_dispose(&ans);
    }
    yyjson_doc_free(doc);
    mock_reply_send(r);
}

/* ---- public Gemini API ---- */

static void h_gemini(struct ag_http_req *req, void *ud)
{
    struct mock_reply *r = mock_reply_new(req);
    struct ag_str model, action, tok = mock_bearer(req);
    yyjson_doc *doc = parse_body(req);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL;
    struct mock_settings s = mock_settings_for(req);
    (void)ud;

    mock_record(req);
    g_mock.requests_total++;
    ag_router_split_action(req->params[0], &model, &action);
    if (!mock_provider_auth(r, req, FMT_GEMINI) ||
        mock_apply_fault(req, r, FMT_GEMINI, tok, model)) {
        /* answered */
    } else if (!yyjson_is_obj(root)) {
        mock_send_error(r, FMT_GEMINI, 400, "Invalid JSON payload received.", NULL);
    } else if (ag_str_eq_c(action, "countTokens")) {
        count_tokens(r, req->body.len);
    } else if (ag_str_eq_c(action, "generateContent") ||
               ag_str_eq_c(action, "streamGenerateContent")) {
        struct mock_answer ans;
        mock_answer_build(&ans, FMT_GEMINI, root, model, req->body.len);
        gemini_answer(r, &ans, &s, ag_str_eq_c(action, "streamGenerateContent"), false);
        mock_answer_dispose(&ans);
    } else {
        mock_send_error(r, FMT_GEMINI, 404, "Unknown method.", NULL);
    }
    yyjson_doc_free(doc);
    mock_reply_send(r);
}

void mock_register_google(struct ag_router *router)
{
    /* Patterns are literals: the router keeps the pointer, not a copy. */
    static const struct {
        const char *method, *pattern;
        ag_http_handler h;
        const char *ud;
    } routes[] = {
        {"POST", "/token", h_token, NULL},
        {"GET", "/o/oauth2/v2/auth", h_auth, NULL},
        {"GET", "/userinfo", h_userinfo, NULL},
        {"GET", "/oauth2/v2/userinfo", h_userinfo, NULL},
        {"POST", "/v1beta/models/:model", h_gemini, NULL},
        {"POST", "/v1internal:loadCodeAssist", h_load_code_assist, NULL},
        {"POST", "/v1internal:fetchAvailableModels", h_fetch_models, NULL},
        {"POST", "/v1internal:retrieveUserQuotaSummary", h_quota_summary, NULL},
        {"POST", "/v1internal:generateContent", h_cloudcode, "generateContent"},
        {"POST", "/v1internal:streamGenerateContent", h_cloudcode, "streamGenerateContent"},
        {"POST", "/v1internal:countTokens", h_cloudcode, "countTokens"},
        {"POST", "/:prefix/v1internal:loadCodeAssist", h_load_code_assist, NULL},
        {"POST", "/:prefix/v1internal:fetchAvailableModels", h_fetch_models, NULL},
        {"POST", "/:prefix/v1internal:retrieveUserQuotaSummary", h_quota_summary, NULL},
        {"POST", "/:prefix/v1internal:generateContent", h_cloudcode, "generateContent"},
        {"POST", "/:prefix/v1internal:streamGenerateContent", h_cloudcode, "streamGenerateContent"},
        {"POST", "/:prefix/v1internal:countTokens", h_cloudcode, "countTokens"},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        struct ag_route rt = {
            .method = routes[i].method,
            .pattern = routes[i].pattern,
            .handler = routes[i].h,
            .ud = (void *)routes[i].ud,
            .access = AG_ACCESS_PUBLIC,
            .errfmt = &ag_errfmt_gemini,
        };
        ag_router_add(router, &rt);
    }
}
