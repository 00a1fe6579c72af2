/* tests/mock/state.c: the mock's accounts, scripted faults and request records. */
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/json_depth.h"
#include "core/mem.h"
#include "mock.h"

struct mock g_mock;

static void copy_str(char *dst, size_t cap, yyjson_val *v)
{
    if (yyjson_is_str(v))
        ag_strlcpy(dst, yyjson_get_str(v), cap);
}

static void default_account(void)
{
    struct mock_account *a = &g_mock.accounts[g_mock.naccounts++];
    memset(a, 0, sizeof(*a));
    ag_strlcpy(a->email, "mock@example.com", sizeof(a->email));
    ag_strlcpy(a->refresh_token, "rt-mock", sizeof(a->refresh_token));
    ag_strlcpy(a->access_token, "at-mock", sizeof(a->access_token));
    ag_strlcpy(a->code, "code-mock", sizeof(a->code));
    ag_strlcpy(a->project, "mock-project-123", sizeof(a->project));
    ag_strlcpy(a->tier, "PRO", sizeof(a->tier));
}

void mock_state_init(void)
{
    g_mock.settings.sse_chunk_bytes = 16;
    g_mock.initial_settings = g_mock.settings;
    g_mock.records = ag_calloc(MOCK_MAX_RECORDS, sizeof(struct mock_record));
    g_mock.next_fault_id = 1;
    default_account();
}

static void record_free(struct mock_record *r)
{
    free(r->method);
    free(r->target);
    free(r->headers_json);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

void mock_records_clear(void)
{
    for (size_t i = 0; i < MOCK_MAX_RECORDS; i++)
        record_free(&g_mock.records[i]);
    g_mock.nrecords = 0;
    g_mock.record_head = 0;
}

void mock_state_dispose(void)
{
    mock_records_clear();
    free(g_mock.records);
    g_mock.records = NULL;
}

/* ---- accounts ---- */

int mock_account_upsert_json(yyjson_val *o)
{
    struct mock_account tmp = {0}, *a = NULL;
    yyjson_val *q, *v;
    size_t idx, max;

    if (!yyjson_is_obj(o))
        return AG_EINVAL;
    copy_str(tmp.email, sizeof(tmp.email), yyjson_obj_get(o, "email"));
    if (!tmp.email[0])
        return AG_EINVAL;
    for (size_t i = 0; i < g_mock.naccounts; i++) {
        if (strcmp(g_mock.accounts[i].email, tmp.email) == 0)
            a = &g_mock.accounts[i];
    }
    if (!a) {
        if (g_mock.naccounts >= MOCK_MAX_ACCOUNTS)
            return AG_ETOOBIG;
        a = &g_mock.accounts[g_mock.naccounts++];
        *a = tmp;
        snprintf(a->refresh_token, sizeof(a->refresh_token), "rt-%s", tmp.email);
        snprintf(a->access_token, sizeof(a->access_token), "at-%s", tmp.email);
        snprintf(a->code, sizeof(a->code), "code-%s", tmp.email);
        ag_strlcpy(a->project, "mock-project-123", sizeof(a->project));
        ag_strlcpy(a->tier, "PRO", sizeof(a->tier));
    }
    copy_str(a->refresh_token, sizeof(a->refresh_token), yyjson_obj_get(o, "refresh_token"));
    copy_str(a->access_token, sizeof(a->access_token), yyjson_obj_get(o, "access_token"));
    copy_str(a->code, sizeof(a->code), yyjson_obj_get(o, "code"));
    copy_str(a->project, sizeof(a->project), yyjson_obj_get(o, "project"));
    copy_str(a->tier, sizeof(a->tier), yyjson_obj_get(o, "tier"));
    v = yyjson_obj_get(o, "revoked");
    if (yyjson_is_bool(v))
        a->revoked = yyjson_get_bool(v);
    q = yyjson_obj_get(o, "quotas");
    if (yyjson_is_obj(q)) {
        yyjson_val *k;
        a->nquotas = 0;
        yyjson_obj_foreach(q, idx, max, k, v)
        {
            struct mock_quota *m;
            if (a->nquotas >= MOCK_MAX_QUOTAS)
                break;
            m = &a->quotas[a->nquotas++];
            memset(m, 0, sizeof(*m));
            ag_strlcpy(m->model, yyjson_get_str(k), sizeof(m->model));
            m->remaining = 1.0;
            if (yyjson_is_num(v)) {
                m->remaining = yyjson_get_num(v);
            } else if (yyjson_is_obj(v)) {
                yyjson_val *r = yyjson_obj_get(v, "remainingFraction");
                if (yyjson_is_num(r))
                    m->remaining = yyjson_get_num(r);
                copy_str(m->reset_time, sizeof(m->reset_time), yyjson_obj_get(v, "resetTime"));
            }
        }
    }
    return 0;
}

int mock_accounts_load_file(const char *path)
{
    yyjson_read_err e;
    yyjson_doc *doc = yyjson_read_file(path, 0, NULL, &e);
    yyjson_val *root, *list, *v;
    size_t idx, max;
    int rc = 0;

    if (!doc) {
        fprintf(stderr, "mock: cannot read %s: %s\n", path, e.msg);
        return AG_EPARSE;
    }
    if (ag_json_depth_check(yyjson_doc_get_root(doc), AG_JSON_DEPTH_DEFAULT)) {
        fprintf(stderr, "mock: cannot read %s: " AG_JSON_DEPTH_MSG "\n", path,
                (size_t)AG_JSON_DEPTH_DEFAULT);
        yyjson_doc_free(doc);
        return AG_EPARSE;
    }
    root = yyjson_doc_get_root(doc);
    list = yyjson_is_arr(root) ? root : yyjson_obj_get(root, "accounts");
    if (yyjson_is_obj(root)) {
        v = yyjson_obj_get(root, "accept_any_token");
        if (yyjson_is_bool(v))
            g_mock.settings.accept_any_token = g_mock.initial_settings.accept_any_token =
                yyjson_get_bool(v);
    }
    g_mock.naccounts = 0;
    yyjson_arr_foreach(list, idx, max, v)
    {
        if (mock_account_upsert_json(v) < 0)
            rc = AG_EINVAL;
    }
    yyjson_doc_free(doc);
    return rc;
}

static struct mock_account *find(struct ag_str s, size_t off)
{
    if (!s.len)
        return NULL;
    for (size_t i = 0; i < g_mock.naccounts; i++) {
        const char *field = (const char *)&g_mock.accounts[i] + off;
        if (ag_str_eq_c(s, field))
            return &g_mock.accounts[i];
    }
    return NULL;
}

struct mock_account *mock_account_by_access(struct ag_str t)
{
    return find(t, offsetof(struct mock_account, access_token));
}

struct mock_account *mock_account_by_refresh(struct ag_str t)
{
    return find(t, offsetof(struct mock_account, refresh_token));
}

struct mock_account *mock_account_by_code(struct ag_str t)
{
    return find(t, offsetof(struct mock_account, code));
}

/* ---- faults ---- */

static bool has_substr(struct ag_str hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= hay.len; i++) {
        if (memcmp(hay.p + i, needle, n) == 0)
            return true;
    }
    return false;
}

bool mock_fault_take(struct ag_str token, struct ag_str model, struct ag_str target,
                     struct mock_fault *out)
{
    for (size_t i = 0; i < g_mock.nfaults; i++) {
        struct mock_fault *f = &g_mock.faults[i];
        if (f->remaining == 0)
            continue;
        if (f->token[0] && !ag_str_eq_c(token, f->token))
            continue;
        if (f->model[0] && !ag_str_eq_c(model, f->model))
            continue;
        if (f->path[0] && !has_substr(target, f->path))
            continue;
        if (f->remaining > 0)
            f->remaining--;
        f->hits++;
        *out = *f;
        return true;
    }
    return false;
}

/* ---- records ---- */

static char *dupn(struct ag_str s)
{
    char *p = ag_malloc(s.len + 1);
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

void mock_record(const struct ag_http_req *req)
{
    struct mock_record *r = &g_mock.records[g_mock.record_head];
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *h = yyjson_mut_obj(doc);

    record_free(r);
    for (size_t i = 0; i < req->nheaders; i++) {
        char name[128];
        size_t n = req->headers[i].name.len < sizeof(name) - 1 ? req->headers[i].name.len
                                                               : sizeof(name) - 1;
        for (size_t k = 0; k < n; k++) {
            char c = req->headers[i].name.p[k];
            name[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        name[n] = '\0';
        yyjson_mut_obj_put(
            h, yyjson_mut_strcpy(doc, name),
            yyjson_mut_strncpy(doc, req->headers[i].value.p, req->headers[i].value.len));
    }
    yyjson_mut_doc_set_root(doc, h);
    r->headers_json = yyjson_mut_write(doc, 0, NULL);
    yyjson_mut_doc_free(doc);
    r->method = dupn(req->method);
    r->target = dupn(req->target);
    r->body = dupn(ag_buf_str(&req->body));
    g_mock.record_head = (g_mock.record_head + 1) % MOCK_MAX_RECORDS;
    if (g_mock.nrecords < MOCK_MAX_RECORDS)
        g_mock.nrecords++;
}
