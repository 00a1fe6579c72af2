/* pool/codeassist.c: bodies, call targets and answer parsers for loadCodeAssist and
 * fetchAvailableModels (see codeassist.h). Pure JSON work; the calls themselves are made by
 * pool/tokens.c and pool/onboard.c through upstream/cloudcode.h. */
#include "pool/codeassist.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yyjson.h>

#include "config/config.h"
#include "core/err.h"
#include "core/json_depth.h"
#include "core/str.h"

const char ag_codeassist_load_body[] = "{\"metadata\":{\"ideType\":\"ANTIGRAVITY\"}}";

void ag_codeassist_target(const struct ag_config *cfg, const char *proxy,
                          struct ag_cloudcode_target *t)
{
    memset(t, 0, sizeof(*t));
    t->endpoints = (const char *const *)cfg->upstream.cloudcode_endpoints.v;
    t->nendpoints = cfg->upstream.cloudcode_endpoints.n;
    t->user_agent = cfg->upstream.user_agent[0] ? cfg->upstream.user_agent : NULL;
    t->proxy = proxy && *proxy ? proxy : NULL;
    t->timeouts.connect_ms = (uint32_t)(cfg->upstream.connect_timeout_s * 1000);
    t->timeouts.total_ms = 30000;
}

static const char *obj_str(yyjson_val *o, const char *key)
{
    const char *s = yyjson_get_str(yyjson_obj_get(o, key));
    return s && *s ? s : NULL;
}

/* The tier text of a tier object: name, else id. */
static const char *tier_text_of(yyjson_val *t)
{
    const char *s = obj_str(t, "name");
    return s ? s : obj_str(t, "id");
}

int ag_codeassist_parse_load(const char *body, size_t len, char **project, enum ag_tier *tier,
                             char **tier_text)
{
    int rc = AG_EPARSE;
    yyjson_doc *doc = ag_json_depth_read(body, len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    yyjson_val *root = yyjson_doc_get_root(doc), *p;
    const char *text = NULL;

    *project = NULL;
    *tier = AG_TIER_UNKNOWN;
    if (tier_text)
        *tier_text = NULL;
    if (!yyjson_is_obj(root))
        goto out;
    p = yyjson_obj_get(root, "cloudaicompanionProject");
    if (yyjson_is_str(p) && *yyjson_get_str(p))
        *project = ag_strdup(yyjson_get_str(p));
    else if (yyjson_is_obj(p) && obj_str(p, "id"))
        *project = ag_strdup(obj_str(p, "id"));
    text = tier_text_of(yyjson_obj_get(root, "paidTier"));
    if (!text)
        text = tier_text_of(yyjson_obj_get(root, "currentTier"));
    if (text) {
        *tier = ag_tier_from_text(text);
        if (tier_text)
            *tier_text = ag_strdup(text);
    }
    rc = 0;
out:
    yyjson_doc_free(doc);
    return rc;
}

int ag_codeassist_models_body(const char *project, struct ag_buf *out)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(d);
    size_t n = 0;
    char *json;
    int rc;

    yyjson_mut_doc_set_root(d, root);
    if (project && *project)
        yyjson_mut_obj_add_str(d, root, "project", project);
    json = yyjson_mut_write(d, 0, &n);
    rc = json ? ag_buf_append(out, json, n) : AG_ENOMEM;
    free(json);
    yyjson_mut_doc_free(d);
    return rc;
}

static bool kept_model(const char *id)
{
    static const char *const prefixes[] = {"gemini", "claude", "gpt", "image", "imagen"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncmp(id, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    }
    return false;
}

/* A positive limit the API reported for a model (a number, or a number in a string). */
static void add_limit(yyjson_mut_doc *d, yyjson_mut_val *o, const char *key, yyjson_val *v)
{
    int64_t n = 0;
    if (yyjson_is_int(v))
        n = yyjson_get_sint(v);
    else if (yyjson_is_str(v))
        n = strtoll(yyjson_get_str(v), NULL, 10);
    if (n > 0 && n <= UINT32_MAX)
        yyjson_mut_obj_add_int(d, o, key, n);
}

/* "replaces": the retired ids deprecatedModelIds forwards to id ({"old": {"newModelId": id}} or
 * {"old": id}). */
static void add_replaced(yyjson_mut_doc *d, yyjson_mut_val *o, const char *id, yyjson_val *dep)
{
    yyjson_val *k, *v;
    yyjson_mut_val *arr = NULL;
    size_t idx, max;
    yyjson_obj_foreach(dep, idx, max, k, v)
    {
        yyjson_val *to = yyjson_is_obj(v) ? yyjson_obj_get(v, "newModelId") : v;
        if (!yyjson_is_str(to) || strcmp(yyjson_get_str(to), id) != 0 ||
            strcmp(yyjson_get_str(k), id) == 0)
            continue;
        if (!arr)
            arr = yyjson_mut_obj_add_arr(d, o, "replaces");
        yyjson_mut_arr_add_strcpy(d, arr, yyjson_get_str(k));
    }
}

int ag_codeassist_parse_models(const char *body, size_t len, char **out, size_t *nmodels)
{
    int rc = AG_EPARSE;
    yyjson_doc *doc = ag_json_depth_read(body, len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    yyjson_val *root = yyjson_doc_get_root(doc), *models, *k, *v;
    yyjson_mut_doc *d = NULL;
    yyjson_mut_val *res;
    size_t idx, max, n = 0;

    *out = NULL;
    if (!yyjson_is_obj(root))
        goto out;
    models = yyjson_obj_get(root, "models");
    if (models && !yyjson_is_obj(models))
        goto out;
    d = yyjson_mut_doc_new(NULL);
    res = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, res);
    yyjson_obj_foreach(models, idx, max, k, v)
    {
        const char *id = yyjson_get_str(k);
        yyjson_val *qi = yyjson_obj_get(v, "quotaInfo"), *rf;
        if (!id || !yyjson_is_obj(qi) || !kept_model(id))
            continue;
        rf = yyjson_obj_get(qi, "remainingFraction");
        double f = yyjson_is_num(rf) ? yyjson_get_num(rf) : 0.0;
        if (!(f >= 0.0))
            f = 0.0;
        if (f > 1.0)
            f = 1.0;
        yyjson_mut_val *o = yyjson_mut_obj(d);
        yyjson_mut_obj_add_real(d, o, "remaining", f);
        const char *reset = obj_str(qi, "resetTime");
        int64_t at = reset ? ag_codeassist_parse_time(reset) : -1;
        if (at >= 0)
            yyjson_mut_obj_add_int(d, o, "reset_at", at);
        add_limit(d, o, "max_output_tokens", yyjson_obj_get(v, "maxOutputTokens"));
        add_limit(d, o, "thinking_budget", yyjson_obj_get(v, "thinkingBudget"));
        add_replaced(d, o, id, yyjson_obj_get(root, "deprecatedModelIds"));
        yyjson_mut_obj_add(res, yyjson_mut_strcpy(d, id), o);
        n++;
    }
    *out = yyjson_mut_write(d, 0, NULL);
    rc = *out ? 0 : AG_ENOMEM;
    if (nmodels)
        *nmodels = n;
out:
    yyjson_mut_doc_free(d);
    yyjson_doc_free(doc);
    return rc;
}

int ag_codeassist_parse_summary(const char *body, size_t len, char **out)
{
    int rc = AG_EPARSE;
    yyjson_doc *doc = ag_json_depth_read(body, len, AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
    yyjson_val *groups = yyjson_obj_get(yyjson_doc_get_root(doc), "groups"), *g, *b;
    yyjson_mut_doc *d = NULL;
    size_t i, imax, k, kmax, ngroups = 0, nbuckets = 0;

    *out = NULL;
    if (!yyjson_is_arr(groups))
        goto out;
    d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *res = yyjson_mut_arr(d);
    yyjson_mut_doc_set_root(d, res);
    yyjson_arr_foreach(groups, i, imax, g)
    {
        yyjson_val *buckets = yyjson_obj_get(g, "buckets");
        if (!yyjson_is_arr(buckets) || ngroups == AG_CODEASSIST_WINDOWS_MAX)
            continue;
        yyjson_mut_val *go = yyjson_mut_arr_add_obj(d, res);
        const char *name = obj_str(g, "displayName");
        yyjson_mut_obj_add_strcpy(d, go, "group", name ? name : "");
        yyjson_mut_val *bs = yyjson_mut_obj_add_arr(d, go, "buckets");
        ngroups++;
        yyjson_arr_foreach(buckets, k, kmax, b)
        {
            if (!yyjson_is_obj(b) || nbuckets == AG_CODEASSIST_WINDOWS_MAX)
                continue;
            yyjson_mut_val *bo = yyjson_mut_arr_add_obj(d, bs);
            const char *id = obj_str(b, "bucketId"), *win = obj_str(b, "window");
            const char *bname = obj_str(b, "displayName"), *reset = obj_str(b, "resetTime");
            yyjson_mut_obj_add_strcpy(d, bo, "id", id ? id : "");
            yyjson_mut_obj_add_strcpy(d, bo, "window", win ? win : "");
            yyjson_mut_obj_add_strcpy(d, bo, "name", bname ? bname : "");
            yyjson_val *rf = yyjson_obj_get(b, "remainingFraction");
            double f = yyjson_is_num(rf) ? yyjson_get_num(rf) : 0.0;
            yyjson_mut_obj_add_real(d, bo, "remaining", f >= 0.0 ? (f > 1.0 ? 1.0 : f) : 0.0);
            int64_t at = reset ? ag_codeassist_parse_time(reset) : -1;
            if (at >= 0)
                yyjson_mut_obj_add_int(d, bo, "reset_at", at);
            nbuckets++;
        }
    }
    *out = yyjson_mut_write(d, 0, NULL);
    rc = *out ? 0 : AG_ENOMEM;
out:
    yyjson_mut_doc_free(d);
    yyjson_doc_free(doc);
    return rc;
}

/* Reads exactly n digits at *p into *v. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        *v = *v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return true;
}

int64_t ag_codeassist_parse_time(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    const char *p = s;

    if (!s || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &se))
        return -1;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
            return -1;
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return (int64_t)t - sign * (oh * 3600 + om * 60);
}
