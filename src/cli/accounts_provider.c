/* cli/accounts_provider.c: `aigate accounts add --provider KIND --api-key KEY [--base-url URL]
 * [--models M,...] [--label TEXT] [--proxy URL]` — API-key accounts of other providers (kinds in
 * store/provider.h), and storing the provider entries of an import file.
 *
 * The account's name in lists and statistics (its email column) is "<kind>:<label>" when a label
 * is given, else "<kind>:<host>:<8 hex digits of the key's SHA-256>", so the same key added twice
 * updates one account and the key itself never shows. An openai / openai-compatible account
 * without --models asks the endpoint's own GET <base>/models once, here, on a private loop. The
 * key is never printed (export aside). */
#include "cli/cmd.h"

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
#include "store/account_json.h"
#include "store/accounts.h"
#include "store/provider.h"
#include "store/store.h"
#include "upstream/client.h"

#define KEY_MAX        4096
#define MODELS_MAX     (64u * 1024) /* the stored comma-separated list */
#define MODELS_TIMEOUT 15000        /* ms for the whole /models call */

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
        if (!id || !*id || strchr(id, ','))
            continue;
        if (out->len + strlen(id) + 1 > MODELS_MAX)
            break; /* a bounded list: the first models win */
        if (out->len)
            ag_buf_append_c(out, ",");
        ag_buf_append_c(out, id);
    }
    if (!out->len) {
        snprintf(why, cap, "the endpoint lists no models");
        ret = AG_ENOTFOUND;
    }
out:
    yyjson_doc_free(doc);
    return ret;
}

static int fetch_models(const struct ag_provider_info *pi, const char *base, const char *key,
                        const char *proxy, struct ag_buf *out, char *why, size_t cap)
{
    struct fetch f;
    char url[1200], auth[KEY_MAX + 32];
    int err = 0, ret;
    memset(&f, 0, sizeof(f));
    ag_buf_init(&f.body, AG_BUF_CAP_DOC);
    snprintf(url, sizeof(url), "%s/models", base);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    const char *headers[] = {auth, "Accept: application/json"};
    (void)pi;
    if (uv_loop_init(&f.loop) != 0) {
        snprintf(why, cap, "cannot start the event loop");
        return AG_EIO;
    }
    if (!(f.client = ag_upstream_client_new(&f.loop, NULL))) {
        uv_loop_close(&f.loop);
        snprintf(why, cap, "cannot start the HTTP client");
        return AG_EIO;
    }
    struct ag_upstream_req_spec spec = {
        .method = "GET",
        .url = url,
        .headers = headers,
        .nheaders = 2,
        .proxy = proxy,
        .timeouts = {.connect_ms = 10000, .total_ms = MODELS_TIMEOUT},
        .max_body = 4u << 20,
        .on_done = on_models,
        .ud = &f};
    if (!ag_upstream_req_start(f.client, &spec, &err)) {
        snprintf(why, cap, "cannot request %.160s: %s", url, ag_strerror(err));
        ret = err ? err : AG_EINVAL;
        goto out;
    }
    while (!f.done)
        uv_run(&f.loop, UV_RUN_ONCE);
    if (f.status != 200) {
        if (f.status)
            snprintf(why, cap, "GET %.160s answered %d", url, f.status);
        else
            snprintf(why, cap, "GET %.160s failed: %.60s", url, f.message);
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
        if (out->len + item.len + 1 > MODELS_MAX)
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

/* ---- storing ---- */

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
        rc = fetch_models(pi, base, key, proxy, list, why, sizeof(why));
        if (rc) {
            snprintf(msg, cap, "cannot list the endpoint's models (%s); name them with --models",
                     why);
            return rc;
        }
    }
    return 0;
}

int ag_cli_provider_put(struct ag_store *store, const char *kind_name, const char *key,
                        const char *base_url, const char *models, const char *label,
                        const char *proxy, const char *name, char *msg, size_t cap)
{
    enum ag_provider kind;
    char base[1100], proxy_norm[2048], email[512];
    struct ag_buf list;
    const struct ag_provider_info *pi;
    int rc;

    ag_buf_init(&list, AG_BUF_CAP_DOC);
    if (!ag_provider_parse(kind_name, &kind) || kind == AG_PROVIDER_GOOGLE) {
        snprintf(msg, cap,
                 "unknown provider \"%s\" (gemini, anthropic, openai or openai-compatible)",
                 kind_name ? kind_name : "");
        rc = AG_EINVAL;
        goto out;
    }
    pi = ag_provider_info(kind);
    if (!key || !key_ok(key)) {
        snprintf(msg, cap, "the API key is empty, too long, or has white space");
        rc = AG_EINVAL;
        goto out;
    }
    if ((rc = provider_base(pi, base_url, base, sizeof(base), msg, cap)))
        goto out;
    if (proxy && *proxy &&
        (rc = ag_upstream_proxy_normalize(proxy, proxy_norm, sizeof(proxy_norm)))) {
        snprintf(msg, cap, "bad proxy URL");
        goto out;
    }
    if (label && strlen(label) > 64) {
        snprintf(msg, cap, "the label is longer than 64 bytes");
        rc = AG_EINVAL;
        goto out;
    }
    if ((rc = provider_models(pi, models, base, key, proxy && *proxy ? proxy_norm : NULL, &list,
                              msg, cap)))
        goto out;
    if (name && *name)
        ag_strlcpy(email, name, sizeof(email));
    else
        account_name(pi, label, base, key, email, sizeof(email));
    struct ag_account in = {
        .email = email,
        .provider = (char *)pi->name,
        .api_key = (char *)key,
        /* the default base URL is not stored, so a changed default reaches old accounts */
        .base_url = base_url && *base_url ? base : NULL,
        .models = list.len ? list.data : NULL,
        .label = (char *)label,
        .proxy_url = proxy && *proxy ? proxy_norm : NULL,
    };
    char id[AG_ACCOUNT_ID_SIZE];
    bool created = false;
    rc = ag_store_account_put_provider(store, &in, id, &created);
    if (rc) {
        snprintf(msg, cap, "cannot store the account: %s", ag_strerror(rc));
        goto out;
    }
    snprintf(msg, cap, "%s %s (%s, %s, %s%.200s)", created ? "added" : "updated", email, pi->name,
             base, list.len ? "models " : "models: any of the provider's",
             list.len ? list.data : "");
out:
    ag_buf_dispose(&list);
    return rc;
}

int ag_cli_accounts_add_provider(struct ag_cli *cli, int argc, char **argv)
{
    const char *kind = NULL, *key = NULL, *base = NULL, *models = NULL, *label = NULL,
               *proxy = NULL;
    struct ag_config *cfg;
    struct ag_store *store = NULL;
    char err[512] = "", msg[600] = "";
    int rc;

    for (int i = 2; i < argc; i++) {
        const char **dst = strcmp(argv[i], "--provider") == 0   ? &kind
                           : strcmp(argv[i], "--api-key") == 0  ? &key
                           : strcmp(argv[i], "--base-url") == 0 ? &base
                           : strcmp(argv[i], "--models") == 0   ? &models
                           : strcmp(argv[i], "--label") == 0    ? &label
                           : strcmp(argv[i], "--proxy") == 0    ? &proxy
                                                                : NULL;
        if (!dst || i + 1 >= argc)
            return ag_cli_usage_error(
                "usage: aigate accounts add --provider KIND --api-key KEY [--base-url URL] "
                "[--models M,...] [--label TEXT] [--proxy URL]");
        *dst = argv[++i];
    }
    if (!key || !*key)
        return ag_cli_usage_error("accounts add --provider needs --api-key KEY");
    if (!(cfg = ag_cli_load(cli)))
        return AG_CLI_EXIT_FAIL;
    if (ag_store_open(cfg->data_dir, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "aigate: %s\n", err[0] ? err : "cannot open the account store");
        ag_config_unref(cfg);
        return AG_CLI_EXIT_FAIL;
    }
    rc = ag_cli_provider_put(store, kind, key, base, models, label, proxy, NULL, msg, sizeof(msg));
    if (rc)
        fprintf(stderr, "aigate: cannot add the account: %s\n", msg);
    else
        printf("%s\n", msg);
    ag_store_free(store);
    ag_config_unref(cfg);
    return rc == AG_EINVAL ? AG_CLI_EXIT_USAGE : rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}
