/* desktop/link.c: blocking libcurl calls to a loopback gateway's admin API (see link.h). */
#include "desktop/link.h"

#include "core/buf.h"
#include "core/json_depth.h"
#include "core/jsonw.h"

#include "upstream/curl_api.h"
#include <stdio.h>
#include <string.h>

/* Answers of the admin API the desktop reads are small; anything bigger is refused. */
#define LINK_BODY_CAP (1024u * 1024u)

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct ag_buf *b = ud;
    return ag_buf_append(b, p, size * n) ? 0 : size * n;
}

/* method on base+path with optional bearer token and JSON body; the answer's body into out. */
static long perform(const char *base, const char *path, const char *method, const char *token,
                    const char *body, long timeout_ms, struct ag_buf *out)
{
    char url[512], auth[256];
    long status = 0;
    struct curl_slist *hdrs = NULL;
    CURL *h = curl_easy_init();
    if (!h)
        return 0;
    if ((size_t)snprintf(url, sizeof(url), "%s%s", base, path) >= sizeof(url))
        goto out;
    if (token && token[0]) {
        if ((size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token) >= sizeof(auth))
            goto out;
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* loopback: never through a proxy from the env */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(h) != CURLE_OK ||
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return status;
}

bool ag_desk_link_alive(const char *base, long timeout_ms)
{
    struct ag_buf out;
    ag_buf_init(&out, LINK_BODY_CAP);
    long st = perform(base, "/healthz", "GET", NULL, NULL, timeout_ms, &out);
    bool ok = st == 200 && out.data && strstr(out.data, "\"status\":\"ok\"") != NULL;
    ag_buf_dispose(&out);
    return ok;
}

int ag_desk_link_login(const char *base, const char *secret, char *token, size_t cap,
                       int64_t *expires_ms)
{
    struct ag_buf body, out;
    int rc = -1;
    yyjson_doc *doc = NULL;
    ag_buf_init(&body, 4096);
    ag_buf_init(&out, LINK_BODY_CAP);
    ag_jsonw_open(&body, NULL, '{');
    ag_jsonw_str(&body, "password", secret);
    if (ag_jsonw_close(&body, '}'))
        goto out;
    if (perform(base, "/api/auth/login", "POST", NULL, body.data, 3000, &out) != 200)
        goto out;
    doc = ag_json_depth_read(out.data, out.len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    yyjson_val *root = yyjson_doc_get_root(doc);
    const char *t = yyjson_get_str(yyjson_obj_get(root, "token"));
    if (!t || strlen(t) >= cap)
        goto out;
    memcpy(token, t, strlen(t) + 1);
    if (expires_ms)
        *expires_ms = yyjson_get_sint(yyjson_obj_get(root, "expires_at_ms"));
    rc = 0;
out:
    yyjson_doc_free(doc);
    if (body.data)
        explicit_bzero(body.data, body.len);
    ag_buf_dispose(&body);
    ag_buf_dispose(&out);
    return rc;
}

yyjson_doc *ag_desk_link_call(const char *base, const char *token, const char *method,
                              const char *path, long timeout_ms, long *status)
{
    struct ag_buf out;
    yyjson_doc *doc = NULL;
    ag_buf_init(&out, LINK_BODY_CAP);
    long st = perform(base, path, method, token, NULL, timeout_ms, &out);
    if (status)
        *status = st;
    if (st)
        doc = ag_json_depth_read(out.data, out.len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    ag_buf_dispose(&out);
    return doc;
}
