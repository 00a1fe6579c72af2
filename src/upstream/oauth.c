/* upstream/oauth.c: Google OAuth token and userinfo calls (see oauth.h). The token endpoint
 * answers {"access_token","expires_in","refresh_token"?,"scope","token_type","id_token"?} or, on
 * failure, {"error":"invalid_grant","error_description":"Token has been expired or revoked."}. */
#include "upstream/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <yyjson.h>

#include "core/err.h"
#include "core/hex.h"
#include "core/json_depth.h"
#include "core/mem.h"

#define MAX_BODY (1024u * 1024u)

struct ag_oauth_op {
    struct ag_upstream_req *req;
    struct ag_buf form;
    char *headers[4];
    size_t nheaders;
    ag_oauth_cb cb;
    void *ud;
    bool in_cb;
};

int ag_oauth_form_escape(struct ag_buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char enc[4];
        int rc;
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = ag_buf_append(out, p, 1);
        } else if (*p == ' ') {
            rc = ag_buf_append(out, "+", 1);
        } else {
            enc[0] = '%';
            ag_hex_encode_upper(enc + 1, p, 1);
            rc = ag_buf_append(out, enc, 3);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int form_add(struct ag_buf *b, const char *key, const char *value)
{
    int rc = 0;
    if (!value)
        return 0;
    if (b->len)
        rc = ag_buf_append(b, "&", 1);
    if (!rc)
        rc = ag_oauth_form_escape(b, key);
    if (!rc)
        rc = ag_buf_append(b, "=", 1);
    if (!rc)
        rc = ag_oauth_form_escape(b, value);
    return rc;
}

static void op_free(struct ag_oauth_op *op)
{
    for (size_t i = 0; i < op->nheaders; i++)
        free(op->headers[i]);
    ag_buf_dispose(&op->form);
    free(op);
}

static void add_header(struct ag_oauth_op *op, const char *name, const char *value)
{
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_buf_printf(&b, "%s: %s", name, value);
    op->headers[op->nheaders++] = ag_buf_steal(&b, NULL);
}

static const char *str_or_empty(yyjson_val *obj, const char *key)
{
    const char *s = yyjson_get_str(yyjson_obj_get(obj, key));
    return s ? s : "";
}

static void on_done(struct ag_upstream_req *r, const struct ag_upstream_result *res, void *ud)
{
    struct ag_oauth_op *op = ud;
    struct ag_oauth_result out = {0};
    yyjson_doc *doc = NULL;
    yyjson_val *root = NULL, *v;
    char msg[512];
    (void)r;

    out.status = res->status;
    out.fail = res->fail;
    out.error = out.error_description = out.message = "";
    out.access_token = out.refresh_token = out.id_token = out.token_type = out.scope = "";
    out.email = out.name = out.picture = "";
    if (res->err) {
        out.err = res->err == AG_ETIMEDOUT ? AG_ETIMEDOUT : AG_EIO;
        out.message = res->message;
        goto report;
    }
    if (res->body.len)
        doc =
            ag_json_depth_read(res->body.p, res->body.len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    root = doc ? yyjson_doc_get_root(doc) : NULL;
    if (res->status < 200 || res->status >= 300) {
        /* {"error":"invalid_grant","error_description":...}, or Google API style
         * {"error":{"code":401,"message":...,"status":"UNAUTHENTICATED"}} for userinfo. */
        v = yyjson_obj_get(root, "error");
        if (yyjson_is_str(v)) {
            out.error = yyjson_get_str(v);
            out.error_description = str_or_empty(root, "error_description");
        } else if (yyjson_is_obj(v)) {
            out.error = str_or_empty(v, "status");
            out.error_description = str_or_empty(v, "message");
        }
        out.invalid_grant = strcmp(out.error, "invalid_grant") == 0;
        out.err = res->status >= 400 && res->status < 500 ? AG_EAUTH : AG_EUPSTREAM;
        snprintf(msg, sizeof(msg), "HTTP %d: %s%s%s", res->status,
                 out.error[0] ? out.error : "error", out.error_description[0] ? ": " : "",
                 out.error_description);
        out.message = msg;
        goto report;
    }
    if (!yyjson_is_obj(root)) {
        out.err = AG_EPARSE;
        out.message = "unreadable response body";
        goto report;
    }
    out.access_token = str_or_empty(root, "access_token");
    out.refresh_token = str_or_empty(root, "refresh_token");
    out.id_token = str_or_empty(root, "id_token");
    out.token_type = str_or_empty(root, "token_type");
    out.scope = str_or_empty(root, "scope");
    v = yyjson_obj_get(root, "expires_in");
    if (yyjson_is_num(v))
        out.expires_in = (int64_t)yyjson_get_num(v);
    else if (yyjson_is_str(v))
        out.expires_in = strtoll(yyjson_get_str(v), NULL, 10);
    out.email = str_or_empty(root, "email");
    out.name = str_or_empty(root, "name");
    out.picture = str_or_empty(root, "picture");
report:
    op->in_cb = true;
    op->cb(op, &out, op->ud);
    yyjson_doc_free(doc);
    op_free(op);
}

static struct ag_oauth_op *start(struct ag_upstream_client *client, const struct ag_oauth_cfg *cfg,
                                 struct ag_oauth_op *op, const char *url, bool post, int *err)
{
    struct ag_upstream_req_spec rs = {0};

    if (cfg->user_agent && *cfg->user_agent)
        add_header(op, "User-Agent", cfg->user_agent);
    if (post)
        add_header(op, "Content-Type", "application/x-www-form-urlencoded");
    add_header(op, "Accept", "application/json");
    rs.method = post ? "POST" : "GET";
    rs.url = url;
    rs.headers = (const char *const *)op->headers;
    rs.nheaders = op->nheaders;
    if (post) {
        rs.body = op->form.data ? op->form.data : "";
        rs.body_len = op->form.len;
    }
    rs.proxy = cfg->proxy;
    rs.timeouts.total_ms = cfg->timeout_ms ? cfg->timeout_ms : 60000;
    rs.timeouts.connect_ms = rs.timeouts.total_ms < 20000 ? rs.timeouts.total_ms : 20000;
    rs.max_body = MAX_BODY;
    rs.on_done = on_done;
    rs.ud = op;
    op->req = ag_upstream_req_start(client, &rs, err);
    if (!op->req) {
        op_free(op);
        return NULL;
    }
    return op;
}

static struct ag_oauth_op *new_op(ag_oauth_cb cb, void *ud)
{
    struct ag_oauth_op *op = AG_NEW(struct ag_oauth_op);
    ag_buf_init(&op->form, 64 * 1024);
    op->cb = cb;
    op->ud = ud;
    return op;
}

static struct ag_oauth_op *token_call(struct ag_upstream_client *client,
                                      const struct ag_oauth_cfg *cfg, const char *const *kv,
                                      ag_oauth_cb cb, void *ud, int *err)
{
    struct ag_oauth_op *op = new_op(cb, ud);
    int rc = 0;

    for (size_t i = 0; kv[i] && !rc; i += 2)
        rc = form_add(&op->form, kv[i], kv[i + 1] ? kv[i + 1] : "");
    if (rc < 0) {
        op_free(op);
        if (err)
            *err = rc;
        return NULL;
    }
    return start(client, cfg, op, cfg->token_url, true, err);
}

struct ag_oauth_op *ag_oauth_refresh(struct ag_upstream_client *client,
                                     const struct ag_oauth_cfg *cfg, const char *refresh_token,
                                     ag_oauth_cb cb, void *ud, int *err)
{
    const char *kv[] = {"client_id",     cfg->client_id,     "refresh_token",
                        refresh_token,   "grant_type",       "refresh_token",
                        "client_secret", cfg->client_secret, NULL};
    if (!cfg->token_url || !cfg->client_id || !refresh_token || !*refresh_token || !cb) {
        if (err)
            *err = AG_EINVAL;
        return NULL;
    }
    if (!cfg->client_secret)
        kv[6] = NULL; /* public client: no secret field at all */
    return token_call(client, cfg, kv, cb, ud, err);
}

struct ag_oauth_op *ag_oauth_exchange_code(struct ag_upstream_client *client,
                                           const struct ag_oauth_cfg *cfg, const char *code,
                                           const char *redirect_uri, ag_oauth_cb cb, void *ud,
                                           int *err)
{
    const char *kv[] = {"code",
                        code,
                        "redirect_uri",
                        redirect_uri,
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        cfg->client_id,
                        "client_secret",
                        cfg->client_secret,
                        NULL};
    if (!cfg->token_url || !cfg->client_id || !code || !*code || !redirect_uri || !cb) {
        if (err)
            *err = AG_EINVAL;
        return NULL;
    }
    if (!cfg->client_secret)
        kv[8] = NULL;
    return token_call(client, cfg, kv, cb, ud, err);
}

struct ag_oauth_op *ag_oauth_userinfo(struct ag_upstream_client *client,
                                      const struct ag_oauth_cfg *cfg, const char *access_token,
                                      ag_oauth_cb cb, void *ud, int *err)
{
    struct ag_oauth_op *op;
    struct ag_buf b;

    if (!cfg->userinfo_url || !access_token || !*access_token || !cb) {
        if (err)
            *err = AG_EINVAL;
        return NULL;
    }
    op = new_op(cb, ud);
    ag_buf_init(&b, 16 * 1024);
    if (ag_buf_printf(&b, "Authorization: Bearer %s", access_token) < 0) {
        ag_buf_dispose(&b);
        op_free(op);
        if (err)
            *err = AG_ETOOBIG;
        return NULL;
    }
    op->headers[op->nheaders++] = ag_buf_steal(&b, NULL);
    return start(client, cfg, op, cfg->userinfo_url, false, err);
}

void ag_oauth_cancel(struct ag_oauth_op *op)
{
    if (!op || op->in_cb)
        return;
    ag_upstream_req_cancel(op->req);
    op_free(op);
}
