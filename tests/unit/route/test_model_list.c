/* Unit tests for route/model_list: which ids are listed, order and deduplication, the provider
 * each id is owned by (API-key accounts' models and routing.rules names), and both JSON bodies
 * parsed back with yyjson. */
#include "ag_test.h"

#include <string.h>
#include <yyjson.h>

#include "config/routing.h"
#include "core/buf.h"
#include "core/err.h"
#include "route/model_list.h"

static bool has(const struct ag_model_list *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0)
            return true;
    return false;
}

static struct ag_mapping *mapping(void)
{
    const char *custom = "{\"my-alias\":\"gemini-3-flash\",\"gpt-*\":\"gemini-3-flash\"}";
    struct ag_mapping_config cfg = {.custom_json = custom, .custom_len = strlen(custom)};
    struct ag_mapping *m = ag_mapping_new(&cfg, NULL, 0);
    assert_non_null(m);
    return m;
}

static const struct ag_str quota[] = {{"gemini-3-flash", 14},
                                      {"claude-sonnet-4-6", 17},
                                      {"zz-new-model", 12},
                                      {"gemini-3-flash", 14},
                                      {"", 0}};

static void list_is_union_sorted_and_unique(void **state)
{
    struct ag_mapping *m = mapping();
    struct ag_model_list l;
    ag_model_list_init(&l);
    assert_int_equal(ag_model_list_build(&l, m, quota, 5, false), 0);
    assert_true(has(&l, "zz-new-model"));  /* quota id */
    assert_true(has(&l, "my-alias"));      /* exact custom key */
    assert_false(has(&l, "gpt-*"));        /* wildcard keys are not models */
    assert_true(has(&l, "claude-opus-4")); /* built-in key */
    assert_false(has(&l, "internal-background-task"));
    assert_true(has(&l, "gemini-2.0-flash-exp")); /* an extra id of the served list */
    assert_true(has(&l, "gemini-3-pro-image-4k-21x9"));
    for (size_t i = 1; i < l.n; i++)
        assert_true(strcmp(l.ids[i - 1], l.ids[i]) < 0); /* sorted, no duplicates */
    size_t n = l.n;
    ag_model_list_dispose(&l);

    /* only_raw_quota_models hides aliases. */
    assert_int_equal(ag_model_list_build(&l, m, quota, 5, true), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.ids[0], "claude-sonnet-4-6");
    assert_string_equal(l.ids[2], "zz-new-model");
    assert_true(n > l.n + 50);
    assert_int_equal(ag_model_list_add(&l, AG_STR("")), AG_EINVAL);
    ag_model_list_dispose(&l);
    ag_mapping_free(m);
}

static void openai_body_parses(void **state)
{
    struct ag_model_list l;
    ag_model_list_init(&l);
    ag_model_list_build(&l, NULL, quota, 5, true);
    struct ag_buf b;
    ag_buf_init(&b, 0);
    assert_int_equal(ag_model_list_write_openai(&l, 1706745600, &b), 0);
    yyjson_doc *doc = yyjson_read(b.data, b.len, 0);
    assert_non_null(doc);
    yyjson_val *root = yyjson_doc_get_root(doc);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "object")), "list");
    yyjson_val *data = yyjson_obj_get(root, "data");
    assert_int_equal(yyjson_arr_size(data), 3);
    yyjson_val *first = yyjson_arr_get(data, 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(first, "id")), "claude-sonnet-4-6");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(first, "object")), "model");
    assert_int_equal(yyjson_get_sint(yyjson_obj_get(first, "created")), 1706745600);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(first, "owned_by")), "aigate");
    yyjson_doc_free(doc);

    /* A capped buffer fails cleanly and keeps what it had. */
    struct ag_buf small;
    ag_buf_init(&small, 16);
    ag_buf_append_c(&small, "x");
    assert_int_equal(ag_model_list_write_openai(&l, 0, &small), AG_ETOOBIG);
    assert_string_equal(small.data, "x");
    ag_buf_dispose(&small);
    ag_buf_dispose(&b);
    ag_model_list_dispose(&l);
}

static void gemini_body_parses_with_specs(void **state)
{
    struct ag_mapping *m = mapping();
    struct ag_model_list l;
    ag_model_list_init(&l);
    ag_model_list_add(&l, AG_STR("gpt-oss-120b-medium"));
    ag_model_list_add(&l, AG_STR("claude-opus-4"));
    ag_model_list_add(&l, AG_STR("q\"uote"));
    struct ag_buf b;
    ag_buf_init(&b, 0);
    assert_int_equal(ag_model_list_write_gemini(&l, m, &b), 0);
    yyjson_doc *doc = yyjson_read(b.data, b.len, 0);
    assert_non_null(doc);
    yyjson_val *models = yyjson_obj_get(yyjson_doc_get_root(doc), "models");
    assert_int_equal(yyjson_arr_size(models), 3);
    yyjson_val *opus = yyjson_arr_get(models, 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(opus, "name")), "models/claude-opus-4");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(opus, "displayName")), "claude-opus-4");
    /* Limits come from the routed model (claude-opus-4-6-thinking). */
    assert_int_equal(yyjson_get_uint(yyjson_obj_get(opus, "outputTokenLimit")), 64000);
    assert_true(yyjson_get_bool(yyjson_obj_get(opus, "thinking")));
    yyjson_val *methods = yyjson_obj_get(opus, "supportedGenerationMethods");
    assert_string_equal(yyjson_get_str(yyjson_arr_get(methods, 0)), "generateContent");
    assert_int_equal(yyjson_arr_size(methods), 3);
    /* The custom "gpt-*" rule sends gpt-oss to gemini-3-flash, whose limits are listed. */
    yyjson_val *gpt = yyjson_arr_get(models, 1);
    assert_int_equal(yyjson_get_uint(yyjson_obj_get(gpt, "outputTokenLimit")), 65536);
    assert_true(yyjson_get_bool(yyjson_obj_get(gpt, "thinking")));
    yyjson_val *q = yyjson_arr_get(models, 2);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(q, "name")), "models/q\"uote");
    yyjson_doc_free(doc);

    /* Without a mapping each id's own spec is used. */
    ag_buf_reset(&b);
    assert_int_equal(ag_model_list_write_gemini(&l, NULL, &b), 0);
    doc = yyjson_read(b.data, b.len, 0);
    assert_non_null(doc);
    gpt = yyjson_arr_get(yyjson_obj_get(yyjson_doc_get_root(doc), "models"), 1);
    assert_int_equal(yyjson_get_uint(yyjson_obj_get(gpt, "outputTokenLimit")), 32768);
    assert_false(yyjson_get_bool(yyjson_obj_get(gpt, "thinking")));
    yyjson_doc_free(doc);
    ag_buf_dispose(&b);
    ag_model_list_dispose(&l);
    ag_mapping_free(m);
}

static const char *entry_field(yyjson_val *data, const char *id, const char *field)
{
    size_t i, max;
    yyjson_val *o;
    yyjson_arr_foreach(data, i, max, o)
    {
        if (strcmp(yyjson_get_str(yyjson_obj_get(o, "id")), id) == 0)
            return yyjson_get_str(yyjson_obj_get(o, field));
    }
    return NULL;
}

static const char *kind_of_label(void *ud, const char *label)
{
    (void)ud;
    return strcmp(label, "local") == 0 ? "openai-compatible" : NULL;
}

static void owners_from_accounts_and_rules(void **state)
{
    struct ag_mapping *m = mapping();
    struct ag_model_list l;
    ag_model_list_init(&l);
    assert_int_equal(ag_model_list_build(&l, m, quota, 5, false), 0);
    /* an API-key account's models; one of them is also a mapping name, which it takes over */
    assert_int_equal(ag_model_list_add_owned(&l, AG_STR("qwen3-coder"), "openai-compatible"), 0);
    assert_int_equal(ag_model_list_add_owned(&l, AG_STR("my-alias"), "anthropic"), 0);
    /* a named owner is kept against a later one */
    assert_int_equal(ag_model_list_add_owned(&l, AG_STR("qwen3-coder"), "openai"), 0);

    const char *rules_json =
        "[{\"pattern\":\"deepseek-chat\",\"targets\":[{\"provider\":\"openai-compatible\"}]},"
        " {\"pattern\":\"local-big\",\"targets\":[{\"account\":\"local\"}]},"
        " {\"pattern\":\"nobody\",\"targets\":[{\"account\":\"missing\"}]},"
        " {\"pattern\":\"claude-*\",\"targets\":[{\"provider\":\"anthropic\"}]}]";
    yyjson_doc *rd = yyjson_read(rules_json, strlen(rules_json), 0);
    struct ag_config_routing_rules rules = {0};
    struct ag_buf why;
    ag_buf_init(&why, 1024);
    assert_int_equal(ag_config_routing_ops.parse(yyjson_doc_get_root(rd), &rules, &why), 0);
    yyjson_doc_free(rd);
    ptrdiff_t at = ag_model_list_find(&l, AG_STR("qwen3-coder"));
    assert_true(at >= 0);
    assert_string_equal(l.ids[at], "qwen3-coder");
    assert_string_equal(l.owners[at], "openai-compatible");
    assert_int_equal(ag_model_list_find(&l, AG_STR("qwen3-cod")), -1);
    assert_int_equal(ag_model_list_find(&l, AG_STR("")), -1);
    size_t before = l.n;
    ag_model_list_add_rules(&l, &rules, kind_of_label, NULL);
    assert_int_equal(l.n, before + 3); /* the wildcard pattern is not a model */

    struct ag_buf b;
    ag_buf_init(&b, 0);
    assert_int_equal(ag_model_list_write_openai(&l, 1706745600, &b), 0);
    yyjson_doc *doc = yyjson_read(b.data, b.len, 0);
    assert_non_null(doc);
    yyjson_val *data = yyjson_obj_get(yyjson_doc_get_root(doc), "data");
    assert_string_equal(entry_field(data, "qwen3-coder", "owned_by"), "openai-compatible");
    assert_string_equal(entry_field(data, "qwen3-coder", "provider"), "openai-compatible");
    assert_string_equal(entry_field(data, "my-alias", "provider"), "anthropic");
    assert_string_equal(entry_field(data, "deepseek-chat", "provider"), "openai-compatible");
    assert_string_equal(entry_field(data, "local-big", "owned_by"), "openai-compatible");
    /* Cloud Code's models keep owned_by "aigate" and name their provider */
    assert_string_equal(entry_field(data, "zz-new-model", "owned_by"), "aigate");
    assert_string_equal(entry_field(data, "zz-new-model", "provider"), "google");
    assert_string_equal(entry_field(data, "nobody", "provider"), "google");
    assert_null(entry_field(data, "claude-*", "provider"));
    yyjson_doc_free(doc);

    /* rules without a label lookup, and no rules at all */
    ag_model_list_dispose(&l);
    ag_model_list_add_rules(&l, &rules, NULL, NULL);
    assert_int_equal(l.n, 3);
    ag_model_list_add_rules(&l, NULL, NULL, NULL);
    assert_int_equal(l.n, 3);

    ag_config_routing_ops.dispose(&rules);
    ag_buf_dispose(&why);
    ag_buf_dispose(&b);
    ag_model_list_dispose(&l);
    ag_mapping_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_is_union_sorted_and_unique),
        cmocka_unit_test(openai_body_parses),
        cmocka_unit_test(gemini_body_parses_with_specs),
        cmocka_unit_test(owners_from_accounts_and_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
