/* Unit tests for routing.rules: config/routing.c (parse, refusals, emit round trip, the kind names
 * agreeing with store/provider.c) and route/rules.c (first matching rule, priority order,
 * weighted spread within tolerance, least-busy, context-window fallback, fallback classes and
 * fallback_on, context-length wording of each provider). */
#include "ag_test.h"

#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "config/routing.h"
#include "core/buf.h"
#include "core/err.h"
#include "route/rules.h"
#include "store/provider.h"

static int parse(const char *json, struct ag_config_routing_rules *out, struct ag_buf *why)
{
    yyjson_doc *d = yyjson_read(json, strlen(json), 0);
    assert_non_null(d);
    memset(out, 0, sizeof(*out));
    int rc = ag_config_routing_ops.parse(yyjson_doc_get_root(d), out, why);
    yyjson_doc_free(d);
    return rc;
}

static const char rules_json[] =
    "[{\"pattern\":\"gpt-*\",\"targets\":[{\"provider\":\"openai\"},"
    "  {\"provider\":\"openai-compatible\",\"model\":\"qwen3\",\"context\":32000}]},"
    " {\"pattern\":\"big\",\"strategy\":\"weighted\",\"fallback_on\":[\"429\",\"context-length\"],"
    "  \"targets\":[{\"account\":\"a\",\"weight\":3},{\"account\":\"b\",\"weight\":1}]},"
    " {\"pattern\":\"*\",\"strategy\":\"least-busy\",\"targets\":[{\"provider\":\"google\"},"
    "  {\"provider\":\"anthropic\",\"model\":\"claude-sonnet-4-5\"},{\"account\":\"c\"}]}]";

static void config_parse_emit(void **state)
{
    struct ag_config_routing_rules r;
    struct ag_buf why;
    (void)state;
    ag_buf_init(&why, 1024);
    assert_int_equal(parse(rules_json, &r, &why), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[0].strategy, AG_ROUTE_PRIORITY);
    assert_int_equal(r.v[0].fallback_on, AG_FALLBACK_ALL);
    assert_string_equal(r.v[0].targets[1].model, "qwen3");
    assert_int_equal(r.v[0].targets[1].context, 32000);
    assert_int_equal(r.v[1].fallback_on, AG_FALLBACK_429 | AG_FALLBACK_CONTEXT);
    assert_int_equal(r.v[1].targets[0].weight, 3);
    assert_int_equal(r.v[2].strategy, AG_ROUTE_LEAST_BUSY);

    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *v = ag_config_routing_ops.emit(d, &r, true);
    yyjson_mut_doc_set_root(d, v);
    char *text = yyjson_mut_write(d, 0, NULL);
    struct ag_config_routing_rules again;
    assert_int_equal(parse(text, &again, &why), 0);
    assert_int_equal(again.n, 3);
    assert_int_equal(again.v[1].fallback_on, r.v[1].fallback_on);
    assert_string_equal(again.v[2].targets[1].model, "claude-sonnet-4-5");
    free(text);
    yyjson_mut_doc_free(d);
    ag_config_routing_ops.dispose(&again);
    ag_config_routing_ops.dispose(&r);

    /* refusals say where */
    static const struct {
        const char *json, *where;
    } badcases[] = {
        {"{}", "array"},
        {"[{\"pattern\":\"x\",\"targets\":[]}]", "rules[0]: \"targets\""},
        {"[{\"pattern\":\"x\",\"targets\":[{\"provider\":\"azure\"}]}]",
         "rules[0].targets[0]: \"provider\""},
        {"[{\"pattern\":\"x\",\"targets\":[{\"provider\":\"openai\",\"account\":\"a\"}]}]",
         "one of"},
        {"[{\"pattern\":\"x\",\"strategy\":\"random\",\"targets\":[{\"account\":\"a\"}]}]",
         "\"strategy\""},
        {"[{\"pattern\":\"x\",\"fallback_on\":[\"4xx\"],\"targets\":[{\"account\":\"a\"}]}]",
         "\"fallback_on\""},
        {"[{\"pattern\":\"x\",\"targets\":[{\"account\":\"a\",\"weight\":0}]}]", "\"weight\""},
        {"[{\"targets\":[{\"account\":\"a\"}]}]", "\"pattern\""},
    };
    for (size_t i = 0; i < sizeof(badcases) / sizeof(badcases[0]); i++) {
        ag_buf_reset(&why);
        assert_int_equal(parse(badcases[i].json, &r, &why), AG_EINVAL);
        ag_buf_append(&why, "", 1);
        if (!strstr(why.data, badcases[i].where))
            fail_msg("case %zu: \"%s\" does not say %s", i, why.data, badcases[i].where);
        ag_config_routing_ops.dispose(&r);
    }
    /* every kind name config accepts is one store/provider.c knows */
    for (size_t i = 0; ag_routing_provider_names[i]; i++) {
        enum ag_provider k;
        assert_true(ag_provider_parse(ag_routing_provider_names[i], &k));
    }
    ag_buf_dispose(&why);
}

static void match_and_plan(void **state)
{
    struct ag_config_routing_rules r;
    struct ag_buf why;
    size_t order[16];
    (void)state;
    ag_buf_init(&why, 1024);
    assert_int_equal(parse(rules_json, &r, &why), 0);

    assert_ptr_equal(ag_route_rule_match(&r, AG_STR("gpt-4o")), &r.v[0]);
    assert_ptr_equal(ag_route_rule_match(&r, AG_STR("big")), &r.v[1]);
    assert_ptr_equal(ag_route_rule_match(&r, AG_STR("bigger")), &r.v[2]);
    assert_null(ag_route_rule_match(NULL, AG_STR("x")));

    /* priority: as listed */
    assert_int_equal(ag_route_plan(&r.v[0], 100, NULL, 1, order, 16), 2);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    /* context-window fallback: a request bigger than the second target's context skips it ... */
    r.v[0].targets[0].context = 8000;
    assert_int_equal(ag_route_plan(&r.v[0], 20000, NULL, 1, order, 16), 1);
    assert_int_equal(order[0], 1);
    /* ... and when no target fits, all stay (the upstream decides) */
    assert_int_equal(ag_route_plan(&r.v[0], 50000, NULL, 1, order, 16), 2);

    /* least-busy: fewest in flight first, ties in listed order */
    uint32_t busy[3] = {5, 0, 5};
    assert_int_equal(ag_route_plan(&r.v[2], 0, busy, 1, order, 16), 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 0);
    assert_int_equal(order[2], 2);

    /* weighted 3:1 over 20000 seeds: the first pick goes to "a" 75 % of the time (+-2 %), and
     * every plan still holds both targets */
    size_t first_a = 0;
    for (uint64_t seed = 0; seed < 20000; seed++) {
        assert_int_equal(ag_route_plan(&r.v[1], 0, NULL, seed * 7919 + 13, order, 16), 2);
        assert_true(order[0] != order[1]);
        first_a += order[0] == 0;
    }
    assert_in_range(first_a, 14600, 15400);
    /* the same seed gives the same plan */
    size_t o2[16];
    ag_route_plan(&r.v[1], 0, NULL, 42, order, 16);
    ag_route_plan(&r.v[1], 0, NULL, 42, o2, 16);
    assert_int_equal(order[0], o2[0]);
    ag_config_routing_ops.dispose(&r);
    ag_buf_dispose(&why);
}

static void fallback_classes(void **state)
{
    struct ag_route_rule only429 = {.fallback_on = AG_FALLBACK_429};
    struct ag_route_rule all = {.fallback_on = AG_FALLBACK_ALL};
    (void)state;
    assert_int_equal(ag_route_fallback_class(AG_ERRCLASS_RATE_LIMITED, 429, AG_STR("")),
                     AG_FALLBACK_429);
    assert_int_equal(ag_route_fallback_class(AG_ERRCLASS_SERVER_ERROR, 529, AG_STR("")),
                     AG_FALLBACK_5XX);
    assert_int_equal(ag_route_fallback_class(AG_ERRCLASS_TIMEOUT, 0, AG_STR("")),
                     AG_FALLBACK_TIMEOUT);
    assert_int_equal(ag_route_fallback_class(AG_ERRCLASS_TRANSPORT, 0, AG_STR("")),
                     AG_FALLBACK_TIMEOUT);
    /* the wording of each provider's context-length refusal */
    static const char *const ctx[] = {
        "{\"error\":{\"message\":\"This model's maximum context length is 128000 tokens.\","
        "\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\"}}",
        "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt "
        "is too long: 210000 tokens > 200000 maximum\"}}",
        "{\"error\":{\"code\":400,\"message\":\"The input token count (1200000) exceeds the "
        "maximum number of tokens allowed (1048576).\",\"status\":\"INVALID_ARGUMENT\"}}",
    };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ag_route_fallback_class(AG_ERRCLASS_BAD_REQUEST, 400, ag_str_c(ctx[i])),
                         AG_FALLBACK_CONTEXT);
    assert_int_equal(
        ag_route_fallback_class(AG_ERRCLASS_BAD_REQUEST, 400, AG_STR("{\"error\":\"bad field\"}")),
        0);
    assert_int_equal(ag_route_fallback_class(AG_ERRCLASS_UNAUTHORIZED, 401, AG_STR("")), 0);

    assert_true(ag_route_falls_back(&only429, AG_FALLBACK_429));
    assert_false(ag_route_falls_back(&only429, AG_FALLBACK_5XX));
    assert_false(ag_route_falls_back(&all, 0));
    assert_true(ag_route_falls_back(&all, AG_FALLBACK_CONTEXT));
    assert_false(ag_route_falls_back(NULL, AG_FALLBACK_429));
    assert_int_equal(ag_route_estimate_tokens(4000), 1001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_parse_emit),
        cmocka_unit_test(match_and_plan),
        cmocka_unit_test(fallback_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
