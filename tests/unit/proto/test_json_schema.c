/* tests/unit/proto/test_json_schema.c: the JSON Schema -> Gemini subset cleaner on its own. */
#include "ag_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "proto/json_schema.h"
#include "proto/schema_cache.h"

/* Cleans `in` and compares with `want` as JSON. */
static void check(const char *in, const char *want)
{
    struct ag_arena a;
    ag_arena_init(&a, 4096, 0);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *out = ag_json_schema_clean_text(d, &a, ag_str_c(in));
    assert_non_null(out);
    char *got = yyjson_mut_val_write(out, 0, NULL);
    yyjson_doc *g = yyjson_read(got, strlen(got), 0);
    yyjson_doc *w = yyjson_read(want, strlen(want), 0);
    assert_non_null(w);
    if (!yyjson_equals(yyjson_doc_get_root(g), yyjson_doc_get_root(w)))
        fail_msg("cleaned schema differs\n  in:   %s\n  want: %s\n  got:  %s", in, want, got);
    free(got);
    yyjson_doc_free(g);
    yyjson_doc_free(w);
    yyjson_mut_doc_free(d);
    ag_arena_dispose(&a);
}

/* The same schema text is converted once per thread; later it comes back as the converted
 * JSON text, as a raw value that writes the same bytes. */
static void test_same_text_converts_once(void **state)
{
    (void)state;
    ag_schema_cache_clear();
    const char *in = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
                     "\"default\":1,\"minLength\":2}}}";
    struct ag_arena a;
    ag_arena_init(&a, 4096, 0);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *first = ag_json_schema_clean_text(d, &a, ag_str_c(in));
    assert_true(yyjson_mut_is_obj(first));
    yyjson_mut_val *again = ag_json_schema_clean_text(d, &a, ag_str_c(in));
    assert_true(yyjson_mut_is_raw(again));
    char *w1 = yyjson_mut_val_write(first, 0, NULL), *w2 = yyjson_mut_val_write(again, 0, NULL);
    assert_string_equal(w1, w2);
    free(w1);
    free(w2);
    /* another text is its own; text that is not JSON is refused every time */
    assert_true(yyjson_mut_is_obj(
        ag_json_schema_clean_text(d, &a, AG_STR("{\"type\":\"object\",\"title\":\"B\"}"))));
    assert_null(ag_json_schema_clean_text(d, &a, AG_STR("{\"type\":")));
    assert_null(ag_json_schema_clean_text(d, &a, AG_STR("{\"type\":")));
    ag_schema_cache_clear();
    assert_true(yyjson_mut_is_obj(ag_json_schema_clean_text(d, &a, ag_str_c(in))));
    yyjson_mut_doc_free(d);
    ag_arena_dispose(&a);
    ag_schema_cache_clear();
}

/* Past its room the cache forgets, never confuses: every key reads as its own value or nothing. */
static void test_schema_cache_stays_bounded_and_exact(void **state)
{
    (void)state;
    ag_schema_cache_clear();
    char key[64], val[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "{\"k\":%d}", i);
        snprintf(val, sizeof(val), "{\"v\":%d}", i);
        ag_schema_cache_put(ag_str_c(key), ag_str_c(val));
    }
    int kept = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "{\"k\":%d}", i);
        snprintf(val, sizeof(val), "{\"v\":%d}", i);
        struct ag_str got = ag_schema_cache_get(ag_str_c(key));
        if (got.p) {
            assert_true(ag_str_eq_c(got, val));
            kept++;
        }
    }
    assert_true(kept > 0 && kept <= 256);
    snprintf(key, sizeof(key), "{\"k\":999}");
    assert_non_null(ag_schema_cache_get(ag_str_c(key)).p); /* the latest is kept */
    /* an entry larger than the per-entry cap is not kept */
    size_t big = 70 * 1024;
    char *text = malloc(big);
    memset(text, ' ', big);
    text[0] = '{';
    text[big - 1] = '}';
    ag_schema_cache_put(ag_str_make(text, big), AG_STR("{}"));
    assert_null(ag_schema_cache_get(ag_str_make(text, big)).p);
    free(text);
    ag_schema_cache_clear();
}

static void test_whitelist(void **state)
{
    check("{\"$schema\":\"x\",\"type\":\"object\",\"additionalProperties\":false,\"title\":\"T\","
          "\"properties\":{\"a\":{\"type\":\"string\",\"default\":\"d\",\"examples\":[\"e\"]}}}",
          "{\"type\":\"object\",\"title\":\"T\",\"properties\":{\"a\":{\"type\":\"string\"}}}");
}

static void test_constraints_become_hints(void **state)
{
    check("{\"type\":\"string\",\"description\":\"City\",\"minLength\":1,\"format\":\"city\"}",
          "{\"type\":\"string\",\"description\":\"City [Constraint: minLen: 1, format: city]\"}");
    /* a property *named* pattern is a property, not a constraint */
    check("{\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":\"string\"}},"
          "\"required\":[\"pattern\"]}",
          "{\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":\"string\"}},"
          "\"required\":[\"pattern\"]}");
}

static void test_type_union_and_nullable(void **state)
{
    check("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":[\"string\",\"null\"]},"
          "\"m\":{\"type\":\"INTEGER\"}},\"required\":[\"n\",\"m\",\"gone\"]}",
          "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"string\",\"description\":"
          "\"(nullable)\"},\"m\":{\"type\":\"integer\"}},\"required\":[\"m\"]}");
}

static void test_boolean_subschemas_dropped(void **state)
{
    check(
        "{\"type\":\"object\",\"properties\":{\"x\":true,\"y\":{\"type\":\"number\"}},"
        "\"required\":[\"x\",\"y\"]}",
        "{\"type\":\"object\",\"properties\":{\"y\":{\"type\":\"number\"}},\"required\":[\"y\"]}");
}

static void test_refs(void **state)
{
    /* nested $defs, a ref to a ref, and a local key that wins over the definition's */
    check("{\"type\":\"object\",\"properties\":{\"p\":{\"$ref\":\"#/$defs/P\",\"description\":"
          "\"mine\"}},\"$defs\":{\"P\":{\"type\":\"object\",\"description\":\"theirs\","
          "\"properties\":{\"q\":{\"$ref\":\"#/definitions/Q\"}}}},\"definitions\":{\"Q\":{"
          "\"type\":\"boolean\"}}}",
          "{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"object\",\"description\":"
          "\"mine\",\"properties\":{\"q\":{\"type\":\"boolean\"}}}}}");
    check("{\"$ref\":\"#/$defs/Missing\"}",
          "{\"type\":\"string\",\"description\":\"(Unresolved $ref: #/$defs/Missing)\"}");
}

/* An unresolved $ref longer than the hint's own buffer: the hint is cut there, and nothing past
 * the buffer is read (ASan: a stack over-read before). */
static void test_long_unresolved_ref_is_cut(void **state)
{
    char ref[601], in[700], want[512];
    memset(ref, 'x', sizeof(ref) - 1);
    ref[sizeof(ref) - 1] = '\0';
    snprintf(in, sizeof(in), "{\"$ref\":\"#/$defs/%s\"}", ref);
    /* "(Unresolved $ref: #/$defs/" and as many x as fit in 255 bytes */
    int head = snprintf(want, sizeof(want),
                        "{\"type\":\"string\",\"description\":\"(Unresolved $ref: #/$defs/");
    size_t xs = 255 - strlen("(Unresolved $ref: #/$defs/");
    memset(want + head, 'x', xs);
    snprintf(want + head + xs, sizeof(want) - (size_t)head - xs, "\"}");
    check(in, want);
}

static void test_circular_ref_terminates(void **state)
{
    check("{\"$defs\":{\"Node\":{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":"
          "\"#/$defs/Node\"}}}},\"$ref\":\"#/$defs/Node\"}",
          "{\"type\":\"object\",\"properties\":{\"next\":{\"type\":\"string\",\"description\":"
          "\"(Recursive $ref: #/$defs/Node)\"}}}");
}

static void test_any_of_best_branch(void **state)
{
    check("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"object\",\"properties\":{\"k\":{"
          "\"type\":\"string\"}},\"required\":[\"k\"]},{\"type\":\"null\"}]}",
          "{\"type\":\"object\",\"description\":\"Accepts: string | object (nullable)\","
          "\"properties\":{\"k\":{\"type\":\"string\"}},\"required\":[\"k\"]}");
}

static void test_all_of_merge(void **state)
{
    check("{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
          "\"required\":[\"a\"]},{\"properties\":{\"b\":{\"type\":\"integer\"}},\"required\":"
          "[\"b\"]}]}",
          "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
          "\"integer\"}},\"required\":[\"a\",\"b\"]}");
}

static void test_enum_and_const(void **state)
{
    check("{\"enum\":[1,\"two\",null,true]}",
          "{\"type\":\"string\",\"enum\":[\"1\",\"two\",\"null\",\"true\"]}");
    check("{\"const\":\"fixed\"}", "{\"type\":\"string\",\"enum\":[\"fixed\"]}");
}

static void test_implicit_types(void **state)
{
    check("{\"items\":{\"type\":\"string\"}}",
          "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
    check("{\"type\":\"array\"}", "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
    check("{\"type\":\"object\"}", "{\"type\":\"object\",\"properties\":{}}");
    check("{\"city\":{\"type\":\"string\"}}",
          "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}");
}

static void test_not_an_object(void **state)
{
    struct ag_arena a;
    ag_arena_init(&a, 4096, 0);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    assert_null(ag_json_schema_clean_text(d, &a, ag_str_c("{nope")));
    yyjson_mut_val *v = ag_json_schema_clean_text(d, &a, ag_str_c("true"));
    assert_non_null(v);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(v, "type")), "object");
    yyjson_mut_doc_free(d);
    ag_arena_dispose(&a);
}

/* allOf inside allOf, as deep as the largest nesting limit lets a body be: the cleaner's walk is
 * bounded by its own depth, not by the input's, so a small stack is enough. */
struct deep_all_of {
    const char *text;
    bool ok;
};

static void *clean_deep(void *arg)
{
    struct deep_all_of *j = arg;
    struct ag_arena a;
    ag_arena_init(&a, 4096, 0);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    j->ok = ag_json_schema_clean_text(d, &a, ag_str_c(j->text)) != NULL;
    yyjson_mut_doc_free(d);
    ag_arena_dispose(&a);
    return NULL;
}

static void test_deep_all_of_on_a_small_stack(void **state)
{
    (void)state;
    const size_t n = 500; /* {"allOf":[ ... ]} 500 times: 1001 levels, inside the 1024 cap */
    const char open[] = "{\"allOf\":[", close[] = "]}";
    size_t len = n * (sizeof(open) - 1 + sizeof(close) - 1) + 32;
    char *text = malloc(len), *p = text;
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, open, sizeof(open) - 1);
        p += sizeof(open) - 1;
    }
    p += (size_t)snprintf(p, 32, "{\"type\":\"string\"}");
    for (size_t i = 0; i < n; i++) {
        memcpy(p, close, sizeof(close) - 1);
        p += sizeof(close) - 1;
    }
    *p = '\0';
    struct deep_all_of job = {.text = text};
    pthread_attr_t attr;
    pthread_t th;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
    assert_int_equal(pthread_create(&th, &attr, clean_deep, &job), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);
    assert_true(job.ok);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_text_converts_once),
        cmocka_unit_test(test_schema_cache_stays_bounded_and_exact),
        cmocka_unit_test(test_whitelist),
        cmocka_unit_test(test_constraints_become_hints),
        cmocka_unit_test(test_type_union_and_nullable),
        cmocka_unit_test(test_boolean_subschemas_dropped),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_long_unresolved_ref_is_cut),
        cmocka_unit_test(test_circular_ref_terminates),
        cmocka_unit_test(test_any_of_best_branch),
        cmocka_unit_test(test_all_of_merge),
        cmocka_unit_test(test_enum_and_const),
        cmocka_unit_test(test_implicit_types),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_deep_all_of_on_a_small_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
