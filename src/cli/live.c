/* cli/live.c: a short blocking HTTP call to the local gateway's admin API (see live.h). The CLI
 * has no event loop of its own for this, and one request with a one-second cap is all it needs. */
#include "cli/live.h"

#include "config/config.h"
#include "core/buf.h"
#include "core/json_depth.h"

#include "upstream/curl_api.h"
#include <stdio.h>
#include <string.h>

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct ag_buf *b = ud;
    return ag_buf_append(b, p, size * n) ? 0 : size * n;
}

yyjson_doc *ag_cli_live_accounts(const struct ag_config *cfg)
{
    const char *secret = cfg->auth.admin_password[0] ? cfg->auth.admin_password : cfg->auth.api_key;
    char url[96], auth[512];
    struct ag_buf body;
    long status = 0;
    yyjson_doc *doc = NULL;
    if (!secret[0])
        return NULL;
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    ag_buf_init(&body, 16u * 1024 * 1024);
    snprintf(url, sizeof(url), "http://127.0.0.1:%lld/api/accounts", (long long)cfg->server.port);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", secret);
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* loopback: never through a proxy from the env */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(h) == CURLE_OK &&
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
        doc = ag_json_depth_read(body.data, body.len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    ag_buf_dispose(&body);
    return doc;
}

yyjson_doc *ag_cli_live_call(const struct ag_config *cfg, const char *method, const char *path,
                             const char *body, long timeout_ms, long *status)
{
    const char *secret = cfg->auth.admin_password[0] ? cfg->auth.admin_password : cfg->auth.api_key;
    char url[512], auth[512];
    struct ag_buf out;
    long st = 0;
    yyjson_doc *doc = NULL;
    if (status)
        *status = 0;
    if (!secret[0])
        return NULL;
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    ag_buf_init(&out, 16u * 1024 * 1024);
    snprintf(url, sizeof(url), "http://127.0.0.1:%lld%s", (long long)cfg->server.port, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", secret);
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* loopback: never through a proxy from the env */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    if (curl_easy_perform(h) == CURLE_OK &&
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st) == CURLE_OK) {
        if (status)
            *status = st;
        doc = ag_json_depth_read(out.data, out.len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    ag_buf_dispose(&out);
    return doc;
}

yyjson_val *ag_cli_live_account(yyjson_doc *live, const char *id)
{
    yyjson_val *root = live ? yyjson_doc_get_root(live) : NULL, *v;
    size_t i, max;
    if (yyjson_is_obj(root))
        root = yyjson_obj_get(root, "accounts");
    yyjson_arr_foreach(root, i, max, v)
    {
        const char *vid = yyjson_get_str(yyjson_obj_get(v, "id"));
        if (vid && strcmp(vid, id) == 0)
            return v;
    }
    return NULL;
}
