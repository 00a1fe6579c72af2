/* tests/mock/strict.c: the mock's model catalog and what Cloud Code v1internal refuses. Each
 * account offers the models of its scripted quota list, else the whole catalog; the limits come
 * from the catalog (ids it does not name get 65536 output tokens and a 32768 thinking budget).
 * Refusals, in Google's error JSON, as the real API answers them:
 *   - 400 INVALID_ARGUMENT: no "project", no "model", no "request", no request.contents;
 *     generationConfig.maxOutputTokens over the model's limit; thinkingConfig.thinkingBudget
 *     over the model's, or not below maxOutputTokens; countTokens with a top-level model or
 *     project;
 *   - 404 NOT_FOUND "Requested entity was not found.": a model the account does not offer (the
 *     real API's answer to an unknown or unavailable model id). */
#include <stdio.h>
#include <string.h>

#include "mock.h"

static const struct mock_model catalog[] = {
    {"gemini-2.5-flash", 65535, 24576},         {"gemini-2.5-flash-lite", 65535, 24576},
    {"gemini-2.5-pro", 65535, 32768},           {"gemini-3-flash", 65536, 32768},
    {"gemini-pro-agent", 65535, 49152},         {"gemini-3.1-pro-low", 65535, 49152},
    {"gemini-3-pro-image", 32768, 24576},       {"gemini-3.1-flash-image", 32768, 24576},
    {"claude-sonnet-4-6", 64000, 32768},        {"claude-sonnet-4-6-thinking", 64000, 32768},
    {"claude-opus-4-6-thinking", 64000, 32768}, {"gpt-oss-120b-medium", 32768, 0},
};

size_t mock_catalog(const struct mock_model **out)
{
    *out = catalog;
    return sizeof(catalog) / sizeof(catalog[0]);
}

struct mock_model mock_model_limits(const char *id)
{
    for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++) {
        if (strcmp(catalog[i].id, id) == 0)
            return catalog[i];
    }
    return (struct mock_model){id, 65536, 32768};
}

bool mock_account_offers(const struct mock_account *a, struct ag_str model)
{
    if (a && a->nquotas) {
        for (size_t i = 0; i < a->nquotas; i++) {
            if (ag_str_eq_c(model, a->quotas[i].model))
                return true;
        }
        return false;
    }
    for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++) {
        if (ag_str_eq_c(model, catalog[i].id))
            return true;
    }
    return false;
}

static bool invalid(struct mock_reply *r, const char *msg)
{
    mock_send_error(r, FMT_CLOUDCODE, 400, msg, NULL);
    return false;
}

static bool str_set(yyjson_val *v)
{
    return yyjson_is_str(v) && yyjson_get_len(v) > 0;
}

bool mock_strict_check(struct mock_reply *r, const char *method, yyjson_val *root,
                       const struct mock_account *a)
{
    yyjson_val *req = yyjson_obj_get(root, "request"), *m = yyjson_obj_get(root, "model");
    char msg[512];
    if (strcmp(method, "countTokens") == 0) {
        if (yyjson_obj_get(root, "model") || yyjson_obj_get(root, "project"))
            return invalid(r, "Invalid JSON payload received. Unknown name \"model\" or "
                              "\"project\": Cannot find field.");
        if (!yyjson_is_obj(req))
            return invalid(r, "Missing field: request.");
        return true;
    }
    if (!str_set(yyjson_obj_get(root, "project")))
        return invalid(r, "Request contains an invalid argument: project is not specified.");
    if (!str_set(m))
        return invalid(r, "Request contains an invalid argument: model is not specified.");
    if (!yyjson_is_obj(req))
        return invalid(r, "Missing field: request.");
    yyjson_val *contents = yyjson_obj_get(req, "contents");
    if (!yyjson_is_arr(contents) || yyjson_arr_size(contents) == 0)
        return invalid(r, "* GenerateContentRequest.contents: contents is not specified");
    struct ag_str model = ag_str_make(yyjson_get_str(m), yyjson_get_len(m));
    if (!mock_account_offers(a, model)) {
        mock_send_error(r, FMT_CLOUDCODE, 404, "Requested entity was not found.", NULL);
        return false;
    }
    struct mock_model lim = mock_model_limits(yyjson_get_str(m));
    yyjson_val *gc = yyjson_obj_get(req, "generationConfig");
    yyjson_val *max = yyjson_obj_get(gc, "maxOutputTokens");
    yyjson_val *budget = yyjson_obj_get(yyjson_obj_get(gc, "thinkingConfig"), "thinkingBudget");
    int64_t mx = yyjson_is_int(max) ? yyjson_get_sint(max) : -1;
    int64_t bu = yyjson_is_int(budget) ? yyjson_get_sint(budget) : -1;
    if (max && (mx < 1 || mx > lim.max_output_tokens)) {
        snprintf(msg, sizeof(msg),
                 "Unable to submit request because it has a maxOutputTokens value of %lld but "
                 "the supported range is from 1 (inclusive) to %d (exclusive). Update the value "
                 "and try again.",
                 (long long)mx, lim.max_output_tokens + 1);
        return invalid(r, msg);
    }
    if (lim.thinking_budget > 0 && bu > lim.thinking_budget) {
        snprintf(msg, sizeof(msg),
                 "Unable to submit request because the thinking budget %lld is out of range; "
                 "supported values are integers from 0 to %d.",
                 (long long)bu, lim.thinking_budget);
        return invalid(r, msg);
    }
    if (bu > 0 && mx > 0 && bu >= mx) {
        snprintf(msg, sizeof(msg),
                 "`max_tokens` must be greater than `thinking.budget_tokens` (thinkingBudget %lld, "
                 "maxOutputTokens %lld).",
                 (long long)bu, (long long)mx);
        return invalid(r, msg);
    }
    return true;
}
