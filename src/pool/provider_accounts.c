/* pool/provider_accounts.c: storing API-key accounts and reading an endpoint's model list (see
 * provider_accounts.h). */
#include "pool/provider_accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <yyjson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/hex.h"
#include "core/json_depth.h"
#include "core/str.h"
#include "store/provider.h"
#include "upstream/client.h"
#include "upstream/provider.h"

#define KEY_MAX   4096
#define LABEL_MAX 64

/* ---- GET <base>/models on a private loop ---- */

struct fetch {
    uv_loop_t loop;
    struct ag_upstream_client *client;
    bool done, closed;
    int status;
    char message[256];
    struct ag_buf body;
};

static void on_models(struct ag_upstream_req *r, const struct ag_upstream_result *res, void *ud)
{
    struct fetch *f = ud;
    (void)r;
    f->status = res->status;
    ag_strlcpy(f->message, res->message ? res->message : "", sizeof(f->message));
    if (res->err == 0)
        ag_buf_append(&f->body, res->body.p, res->body.len);
    f->done = true;
}

static void on_closed(void *ud)
{
    ((struct fetch *)ud)->closed = true;
}

/* Appends the ids of an OpenAI model list ({"data":[{"id":...}]}) to out as "a,b,c". */
static int parse_models(struct ag_str body, struct ag_buf *out, char *why, size_t cap)
{
    yyjson_doc *doc = ag_json_depth_read(body.p, body.len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    yyjson_val *data = yyjson_obj_get(yyjson_doc_get_root(doc), "data"), *m;
    size_t i, max;
    int ret = 0;
    if (!yyjson_is_arr(data)) {
        snprintf(why, cap, "the answer is not an OpenAI model list ({\"data\": [...]})");
        ret = AG_EPARSE;
        goto out;
    }
    yyjson_arr_foreach(data, i, max, m)
    {
        const char *id = yyjson_get_str(yyjson_obj_get(m, "id"));
        bool clean = id && *id;
        for (const char *c = id; clean && *c; c++)
            clean = (unsigned char)*c > ' ' && *c != ',';
        if (!clean)
            continue;
        if (out->len + strlen(id) + 1 > AG_PROVIDER_MODELS_MAX)
            break; /* a bounded list: the first models win */
        if (out->len)
            ag_buf_append_c(out, ",");
        ag_buf_append_c(out, id);
    }
    if (!out->len) {
        snprintf(why, cap, "the endpoint lists no models");
        ret = AG_EUPSTREAM;
    }
out:
    yyjson_doc_free(doc);
    return ret;
}

static int fetch_models(enum ag_provider kind, const char *base, const char *key, const char *proxy,
                        struct ag_buf *out, char *why, size_t cap)
{
    struct fetch f;
    struct ag_provider_call call;
    int err = 0, ret;
    memset(&f, 0, sizeof(f));
    ag_buf_init(&f.body, AG_PROVIDER_MODELS_BODY_MAX);
    if ((ret = ag_provider_call_prepare(kind, base, key, "/models", &call))) {
        snprintf(why, cap, "cannot build the request: %s", ag_strerror(ret));
        ag_buf_dispose(&f.body);
        return ret;
    }
    if (uv_loop_init(&f.loop) != 0) {
        snprintf(why, cap, "cannot start the event loop");
        ag_buf_dispose(&f.body);
        return AG_EIO;
    }
    if (!(f.client = ag_upstream_client_new(&f.loop, NULL))) {
        uv_loop_close(&f.loop);
        snprintf(why, cap, "cannot start the HTTP client");
        ag_buf_dispose(&f.body);
        return AG_EIO;
    }
    struct ag_upstream_req_spec spec = {
        .method = "GET",
        .url = call.url,
        .headers = call.headers,
        .nheaders = call.nheaders,
        .proxy = proxy,
        .timeouts = {.connect_ms = 10000, .total_ms = AG_PROVIDER_MODELS_TIMEOUT_MS},
        .max_body = AG_PROVIDER_MODELS_BODY_MAX,
        .on_done = on_models,
        .ud = &f};
    if (!ag_upstream_req_start(f.client, &spec, &err)) {
        snprintf(why, cap, "cannot request %.160s: %s", call.url, ag_strerror(err));
        ret = err ? err : AG_EINVAL;
        goto out;
    }
    while (!f.done)
        uv_run(&f.loop, UV_RUN_ONCE);
    if (f.status != 200) {
        if (f.status)
            snprintf(why, cap, "GET %.160s answered %d", call.url, f.status);
        else
            snprintf(why, cap, "GET %.160s failed: %.60s", call.url, f.message);
        ret = AG_EUPSTREAM;
        goto out;
    }
    ret = parse_models(ag_str_make(f.body.data ? f.body.data : "", f.body.len), out, why, cap);
out:
    ag_upstream_client_close(f.client, on_closed, &f);
    while (!f.closed)
        uv_run(&f.loop, UV_RUN_ONCE);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    uv_loop_close(&f.loop);
    ag_buf_dispose(&f.body);
    return ret;
}

/* ---- checks ---- */

static bool key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c <= ' ' || c >= 0x7f)
            return false;
    }
    return true;
}

/* "a, b ,c" -> "a,b,c" without empty items; false when an item has white space or is too long. */
static bool models_norm(const char *in, struct ag_buf *out)
{
    struct ag_str rest = ag_str_c(in);
    while (rest.len) {
        ptrdiff_t comma = ag_str_find(rest, ',');
        struct ag_str item = ag_str_trim(comma < 0 ? rest : ag_str_make(rest.p, (size_t)comma));
        rest = comma < 0 ? AG_STR_NULL : ag_str_make(rest.p + comma + 1, rest.len - comma - 1);
        if (!item.len)
            continue;
        for (size_t i = 0; i < item.len; i++) {
            if ((unsigned char)item.p[i] <= ' ')
                return false;
        }
        if (out->len + item.len + 1 > AG_PROVIDER_MODELS_MAX)
            return false;
        if (out->len)
            ag_buf_append_c(out, ",");
        ag_buf_append(out, item.p, item.len);
    }
    return true;
}

/* The account's name: "<kind>:<label>", else "<kind>:<host>:<hash of the key>". */
static void account_name(const struct ag_provider_info *pi, const char *label, const char *base,
                         const char *key, char *out, size_t cap)
{
    if (label && *label) {
        snprintf(out, cap, "%s:%s", pi->name, label);
        return;
    }
    unsigned char h[AG_SHA256_SIZE];
    char hex[17];
    ag_sha256(key, strlen(key), h);
    *ag_hex_encode(hex, h, 8) = '\0';
    struct ag_str host = ag_str_c(strstr(base, "://") ? strstr(base, "://") + 3 : base);
    ptrdiff_t slash = ag_str_find(host, '/');
    if (slash >= 0)
        host.len = (size_t)slash;
    snprintf(out, cap, "%s:%.*s:%s", pi->name, (int)host.len, host.p, hex);
}

/* The account's base URL into base: base_url checked, else the kind's default (a kind without
 * one needs base_url). 0, or an AG_E* with msg set. */
static int provider_base(const struct ag_provider_info *pi, const char *base_url, char *base,
                         size_t base_cap, char *msg, size_t cap)
{
    char why[256] = "";
    int rc;
    if (base_url && *base_url) {
        if ((rc = ag_provider_base_url_check(base_url, base, base_cap, why, sizeof(why)))) {
            snprintf(msg, cap, "%s", why);
            return rc;
        }
    } else if (pi->base_url) {
        ag_strlcpy(base, pi->base_url, base_cap);
    } else {
        snprintf(msg, cap, "an %s account needs --base-url URL (e.g. http://127.0.0.1:11434/v1)",
                 pi->name);
        return AG_EINVAL;
    }
    return 0;
}

/* The account's models into list: the ids given in models, else (a kind that lists them) the
 * endpoint's list, else none (any of the provider's). 0, or an AG_E* with msg set. */
static int provider_models(const struct ag_provider_info *pi, const char *models, const char *base,
                           const char *key, const char *proxy, struct ag_buf *list, char *msg,
                           size_t cap)
{
    char why[256] = "";
    int rc;
    if (models && *models) {
        if (!models_norm(models, list) || !list->len) {
            snprintf(msg, cap, "--models must be model ids separated by commas");
            return AG_EINVAL;
        }
    } else if (pi->lists_models) {
        rc = fetch_models(pi->kind, base, key, proxy, list, why, sizeof(why));
        if (rc) {
            snprintf(msg, cap, "cannot list the endpoint's models (%s); name them with --models",
                     why);
            return rc;
        }
    }
    return 0;
}

int ag_provider_account_put(struct ag_store *store, const struct ag_provider_put *p, char *id_out,
                            char *msg, size_t cap)
{
    enum ag_provider kind;
    char base[1100], proxy_norm[2048], email[512];
    struct ag_buf list;
    const struct ag_provider_info *pi;
    const char *proxy = p->proxy && *p->proxy ? p->proxy : NULL;
    int rc;

    ag_buf_init(&list, AG_PROVIDER_MODELS_MAX + 1);
    if (!ag_provider_parse(p->kind, &kind) || kind == AG_PROVIDER_GOOGLE) {
        snprintf(msg, cap,
                 "unknown provider \"%.64s\" (gemini, anthropic, openai or openai-compatible)",
                 p->kind ? p->kind : "");
        rc = AG_EINVAL;
        goto out;
    }
    pi = ag_provider_info(kind);
    if (!p->api_key || !key_ok(p->api_key)) {
        snprintf(msg, cap, "the API key is empty, too long, or has white space");
        rc = AG_EINVAL;
        goto out;
    }
    if ((rc = provider_base(pi, p->base_url, base, sizeof(base), msg, cap)))
        goto out;
    if (proxy && (rc = ag_upstream_proxy_normalize(proxy, proxy_norm, sizeof(proxy_norm)))) {
        snprintf(msg, cap, "bad proxy URL");
        goto out;
    }
    if (p->label && strlen(p->label) > LABEL_MAX) {
        snprintf(msg, cap, "the label is longer than 64 bytes");
        rc = AG_EINVAL;
        goto out;
    }
    if ((rc = provider_models(pi, p->models, base, p->api_key, proxy ? proxy_norm : NULL, &list,
                              msg, cap)))
        goto out;
    if (p->name && *p->name)
        ag_strlcpy(email, p->name, sizeof(email));
    else
        account_name(pi, p->label, base, p->api_key, email, sizeof(email));
    bool has_base = p->base_url && *p->base_url;
    struct ag_account in = {
        .email = email,
        .provider = (char *)pi->name,
        .api_key = (char *)p->api_key,
        /* the default base URL is not stored, so a changed default reaches old accounts */
        .base_url = has_base ? base : NULL,
        .models = list.len ? list.data : NULL,
        .label = p->label && *p->label ? (char *)p->label : NULL,
        .proxy_url = proxy ? proxy_norm : NULL,
    };
    char id[AG_ACCOUNT_ID_SIZE];
    bool created = false;
    rc = ag_store_account_put_provider(store, &in, id, &created);
    if (rc) {
        snprintf(msg, cap, "cannot store the account: %s", ag_strerror(rc));
        goto out;
    }
    if (id_out)
        memcpy(id_out, id, AG_ACCOUNT_ID_SIZE);
    snprintf(msg, cap, "%s %s (%s, %s, %s%.200s)", created ? "added" : "updated", email, pi->name,
             base, list.len ? "models " : "models: any of the provider's",
             list.len ? list.data : "");
out:
    ag_buf_dispose(&list);
    return rc;
}

int ag_provider_account_refresh_models(struct ag_store *store, const char *id, char *msg,
                                       size_t cap)
{
    struct ag_account a = {0};
    struct ag_buf list;
    char why[256] = "";
    int rc;

    ag_buf_init(&list, AG_PROVIDER_MODELS_MAX + 1);
    if ((rc = ag_store_account_get(store, id, &a))) {
        snprintf(msg, cap, rc == AG_ENOTFOUND ? "no account %.100s" : "cannot read account %.100s",
                 id);
        goto out;
    }
    const struct ag_provider_info *pi = ag_provider_info(ag_provider_of(a.provider));
    if (!ag_account_is_provider(&a)) {
        snprintf(msg, cap, "%.200s is not an API-key account", a.email ? a.email : id);
        rc = AG_EINVAL;
        goto out;
    }
    if (!pi->lists_models) {
        snprintf(msg, cap,
                 "an %s account's API does not list its models; name them with "
                 "accounts add --models",
                 pi->name);
        rc = AG_EINVAL;
        goto out;
    }
    rc = fetch_models(pi->kind, a.base_url, a.api_key, a.proxy_url, &list, why, sizeof(why));
    if (rc) {
        snprintf(msg, cap,
                 "cannot list the endpoint's models of %.200s (%s); the stored list stays", a.email,
                 why);
        goto out;
    }
    if ((rc = ag_store_account_set_models(store, a.id, list.data))) {
        snprintf(msg, cap, "cannot store the models: %s", ag_strerror(rc));
        goto out;
    }
    snprintf(msg, cap, "models of %.200s: %.400s", a.email, list.data);
out:
    ag_account_dispose(&a);
    ag_buf_dispose(&list);
    return rc;
}
