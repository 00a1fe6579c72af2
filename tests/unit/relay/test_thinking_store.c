/* Unit tests for relay/thinking_store.c: what is kept and for whom, expiry and bounds, putting a
 * dropped thinking block back into a history, and capturing a turn from its events. */
#include "ag_test.h"

#include "relay/thinking_store.h"

#include <stdio.h>
#include <string.h>

static void kept_per_conversation_and_call(void **state)
{
    struct ag_thinking_store *s = ag_thinking_store_new();
    struct ag_str text, sig;
    ag_thinking_store_put(s, AG_STR("conv-a"), AG_STR("toolu_1"), AG_STR("I think."),
                          AG_STR("sig-1"), 1000);
    assert_true(ag_thinking_store_get(s, AG_STR("conv-a"), AG_STR("toolu_1"), 1001, &text, &sig));
    assert_true(ag_str_eq_c(text, "I think."));
    assert_true(ag_str_eq_c(sig, "sig-1"));
    /* another conversation does not see it; nor does another call */
    assert_false(ag_thinking_store_get(s, AG_STR("conv-b"), AG_STR("toolu_1"), 1001, &text, &sig));
    assert_false(ag_thinking_store_get(s, AG_STR("conv-a"), AG_STR("toolu_2"), 1001, &text, &sig));
    /* the same key again replaces */
    ag_thinking_store_put(s, AG_STR("conv-a"), AG_STR("toolu_1"), AG_STR("Again."), AG_STR("sig-2"),
                          1002);
    assert_int_equal(ag_thinking_store_count(s), 1);
    assert_true(ag_thinking_store_get(s, AG_STR("conv-a"), AG_STR("toolu_1"), 1003, &text, &sig));
    assert_true(ag_str_eq_c(sig, "sig-2"));
    /* nothing without a conversation or a signature */
    ag_thinking_store_put(s, AG_STR(""), AG_STR("toolu_3"), AG_STR("x"), AG_STR("s"), 1004);
    ag_thinking_store_put(s, AG_STR("conv-a"), AG_STR("toolu_3"), AG_STR("x"), AG_STR(""), 1004);
    assert_int_equal(ag_thinking_store_count(s), 1);
    assert_int_equal(ag_thinking_store_clear(s), 1);
    assert_false(ag_thinking_store_get(s, AG_STR("conv-a"), AG_STR("toolu_1"), 1005, &text, &sig));
    ag_thinking_store_free(s);
}

static void expiry_and_bounds(void **state)
{
    struct ag_thinking_store *s = ag_thinking_store_new();
    struct ag_str text, sig;
    ag_thinking_store_put(s, AG_STR("c"), AG_STR("old"), AG_STR("t"), AG_STR("s"), 0);
    assert_true(ag_thinking_store_get(s, AG_STR("c"), AG_STR("old"), AG_THINKING_STORE_TTL_MS,
                                      &text, &sig));
    assert_false(ag_thinking_store_get(s, AG_STR("c"), AG_STR("old"), AG_THINKING_STORE_TTL_MS + 1,
                                       &text, &sig));
    /* an expired entry goes when the next one is stored */
    ag_thinking_store_put(s, AG_STR("c"), AG_STR("new"), AG_STR("t"), AG_STR("s"),
                          AG_THINKING_STORE_TTL_MS + 1);
    assert_int_equal(ag_thinking_store_count(s), 1);
    /* at most AG_THINKING_STORE_MAX: the oldest go */
    char id[32];
    for (int i = 0; i < AG_THINKING_STORE_MAX + 10; i++) {
        snprintf(id, sizeof(id), "call_%d", i);
        ag_thinking_store_put(s, AG_STR("c"), ag_str_c(id), AG_STR("t"), AG_STR("s"),
                              AG_THINKING_STORE_TTL_MS + 2);
    }
    assert_int_equal(ag_thinking_store_count(s), AG_THINKING_STORE_MAX);
    assert_false(ag_thinking_store_get(s, AG_STR("c"), AG_STR("call_0"),
                                       AG_THINKING_STORE_TTL_MS + 3, &text, &sig));
    snprintf(id, sizeof(id), "call_%d", AG_THINKING_STORE_MAX + 9);
    assert_true(ag_thinking_store_get(s, AG_STR("c"), ag_str_c(id), AG_THINKING_STORE_TTL_MS + 3,
                                      &text, &sig));
    ag_thinking_store_free(s);
}

static void restores_a_dropped_turn(void **state)
{
    struct ag_arena arena;
    ag_arena_init(&arena, 4096, 1u << 20);
    struct ag_thinking_store *s = ag_thinking_store_new();
    ag_thinking_store_put(s, AG_STR("conv"), AG_STR("toolu_1"), AG_STR("Look it up."),
                          AG_STR("sig-1"), 1000);
    struct ag_part p1[] = {{.type = AG_PART_TEXT, .text = AG_STR("weather?")}};
    struct ag_part p2[] = {{.type = AG_PART_TOOL_CALL,
                            .id = AG_STR("toolu_1"),
                            .name = AG_STR("get_weather"),
                            .args = AG_STR("{}")}};
    struct ag_part p3[] = {{.type = AG_PART_THINKING, .text = AG_STR("Kept by the client.")},
                           {.type = AG_PART_TOOL_CALL, .id = AG_STR("toolu_1")}};
    struct ag_message msgs[] = {
        {AG_ROLE_USER, p1, 1}, {AG_ROLE_ASSISTANT, p2, 1}, {AG_ROLE_ASSISTANT, p3, 2}};
    struct ag_request req;
    memset(&req, 0, sizeof(req));
    ag_request_init(&req);
    req.messages = msgs;
    req.n_messages = 3;
    /* another conversation's request gets nothing */
    assert_int_equal(ag_thinking_store_restore(s, AG_STR("other"), &arena, &req, 1001), 0);
    /* the turn without thinking text gets the kept block first; the one with text is left alone */
    assert_int_equal(ag_thinking_store_restore(s, AG_STR("conv"), &arena, &req, 1001), 1);
    assert_int_equal(msgs[1].n_parts, 2);
    assert_int_equal(msgs[1].parts[0].type, AG_PART_THINKING);
    assert_true(ag_str_eq_c(msgs[1].parts[0].text, "Look it up."));
    assert_true(ag_str_eq_c(msgs[1].parts[0].sig.value, "sig-1"));
    assert_true(ag_str_eq_c(msgs[1].parts[0].sig.family, "claude"));
    assert_int_equal(msgs[1].parts[1].type, AG_PART_TOOL_CALL);
    assert_int_equal(msgs[2].n_parts, 2);
    assert_int_equal(msgs[2].parts[0].sig.value.len, 0); /* not the text the signature signs */
    /* the same text as kept, without its signature (the client rewrote the id): signed again */
    struct ag_part p4[] = {{.type = AG_PART_THINKING, .text = AG_STR("Look it up.")},
                           {.type = AG_PART_TOOL_CALL, .id = AG_STR("toolu_1")}};
    struct ag_message msgs2[] = {{AG_ROLE_USER, p1, 1}, {AG_ROLE_ASSISTANT, p4, 2}};
    req.messages = msgs2;
    req.n_messages = 2;
    assert_int_equal(ag_thinking_store_restore(s, AG_STR("conv"), &arena, &req, 1002), 1);
    assert_int_equal(msgs2[1].n_parts, 2);
    assert_true(ag_str_eq_c(msgs2[1].parts[0].sig.value, "sig-1"));
    assert_true(ag_str_eq_c(msgs2[1].parts[0].sig.family, "claude"));
    ag_thinking_store_free(s);
    ag_arena_dispose(&arena);
}

static void captures_a_turn(void **state)
{
    struct ag_thinking_store *s = ag_thinking_store_new();
    struct ag_thinking_capture c;
    ag_thinking_capture_init(&c);
    struct ag_event evs[] = {
        {.type = AG_EV_START},
        {.type = AG_EV_THINKING, .text = AG_STR("Part one. ")},
        {.type = AG_EV_THINKING, .text = AG_STR("Part two.")},
        {.type = AG_EV_THINKING, .sig = {AG_STR("sig-x"), AG_STR("claude")}},
        {.type = AG_EV_TOOL_START, .id = AG_STR("toolu_9"), .name = AG_STR("f")},
        {.type = AG_EV_THINKING, .text = AG_STR("after the call: not this turn's")},
    };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        ag_thinking_capture_event(&c, &evs[i]);
    ag_thinking_capture_commit(&c, s, AG_STR("conv"), 5);
    struct ag_str text, sig;
    assert_true(ag_thinking_store_get(s, AG_STR("conv"), AG_STR("toolu_9"), 6, &text, &sig));
    assert_true(ag_str_eq_c(text, "Part one. Part two."));
    assert_true(ag_str_eq_c(sig, "sig-x"));
    /* a Gemini signature or a turn without a call is not kept */
    ag_thinking_capture_reset(&c);
    struct ag_event g[] = {
        {.type = AG_EV_THINKING, .text = AG_STR("g"), .sig = {AG_STR("gsig"), AG_STR("gemini")}},
        {.type = AG_EV_TOOL_START, .id = AG_STR("call_g")},
    };
    for (size_t i = 0; i < 2; i++)
        ag_thinking_capture_event(&c, &g[i]);
    ag_thinking_capture_commit(&c, s, AG_STR("conv"), 7);
    assert_int_equal(ag_thinking_store_count(s), 1);
    ag_thinking_capture_dispose(&c);
    ag_thinking_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kept_per_conversation_and_call),
        cmocka_unit_test(expiry_and_bounds),
        cmocka_unit_test(restores_a_dropped_turn),
        cmocka_unit_test(captures_a_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
