/* tests/unit/proto/test_json_read.c: ag_json_read of a large text (a long conversation) takes
 * memory for the values it holds, not one value per six bytes of text, and accepts and rejects
 * exactly what a plain yyjson read does: whitespace after the document is fine, anything else
 * after it, invalid UTF-8 or nesting past the limit is not; the values, their strings and their
 * literals come out as written, also when the value array has to grow many times. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/err.h"
#include "proto/json.h"

#define MIB (1024u * 1024)

/* A conversation of about `size` bytes: {"model":"m","messages":[{"role":..,"content":..},..]}
 * whose contents are 1,200-byte texts with a multi-byte character and an escape each. tail is
 * appended after the closing brace. malloc'd; *len is its length. */
static char *conversation(size_t size, const char *tail, size_t *len)
{
    size_t cap = size + 4096 + strlen(tail), n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    n += (size_t)snprintf(s, cap, "{\"model\":\"m\",\"messages\":[");
    for (size_t i = 0; n + 1400 < size; i++) {
        n += (size_t)snprintf(s + n, cap - n,
                              "%s{\"role\":\"%s\",\"content\":\"%zu \xc3\xbc \\\"q\\\" ",
                              i ? "," : "", i % 2 ? "assistant" : "user", i);
        memset(s + n, 'a' + (int)(i % 26), 1200);
        n += 1200;
        n += (size_t)snprintf(s + n, cap - n, "\"}");
    }
    n += (size_t)snprintf(s + n, cap - n, "]}%s", tail);
    *len = n;
    return s;
}

/* One megabyte of conversation: read in an arena that holds little more than the text's copy
 * (yyjson alone would reserve 16 bytes per six of text for its values: over 3.5 times the text). */
static void large_text_takes_memory_for_its_values(void **state)
{
    (void)state;
    size_t len;
    char *text = conversation(MIB, "", &len);
    struct ag_arena a;
    ag_arena_init(&a, 4096, 0);
    int rc = 1;
    yyjson_doc *doc = ag_json_read(&a, ag_str_make(text, len), 0, &rc);
    assert_non_null(doc);
    assert_int_equal(rc, 0);
    assert_true(ag_arena_used(&a) < len + len / 2);
    yyjson_val *msgs = yyjson_obj_get(yyjson_doc_get_root(doc), "messages");
    size_t count = yyjson_arr_size(msgs);
    assert_true(count > 700);
    yyjson_val *last = yyjson_arr_get(msgs, count - 1);
    char want[64];
    int wn = snprintf(want, sizeof(want), "%zu \xc3\xbc \"q\" ", count - 1);
    const char *got = yyjson_get_str(yyjson_obj_get(last, "content"));
    assert_non_null(got);
    assert_memory_equal(got, want, (size_t)wn);
    assert_int_equal(yyjson_get_len(yyjson_obj_get(last, "content")), (size_t)wn + 1200);
    /* its literal is the client's text, escapes and all */
    struct ag_json_src src;
    ag_json_src_init(&src, doc, ag_str_make(text, len));
    struct ag_str lit = ag_json_literal(&src, yyjson_obj_get(last, "content"));
    assert_non_null(lit.p);
    assert_true(lit.p > text && lit.p + lit.len <= text + len);
    assert_int_equal(lit.len, (size_t)wn + 1200 + 4); /* the quotes and two backslashes */
    assert_int_equal(lit.p[0], '"');
    assert_int_equal(lit.p[lit.len - 1], '"');
    assert_int_equal(lit.p[lit.len - 2], 'a' + (int)((count - 1) % 26));
    ag_arena_dispose(&a);
    free(text);
}

/* 300,000 small values in 600 KB: the value array grows many times and every value survives. */
static void many_values_grow_and_survive(void **state)
{
    (void)state;
    size_t n = 300000, len = 0;
    char *text = malloc(2 * n + 2);
    assert_non_null(text);
    text[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        text[len++] = (char)('0' + i % 10);
        text[len++] = i + 1 < n ? ',' : ']';
    }
    struct ag_arena a;
    ag_arena_init(&a, 4096, 0);
    int rc = 1;
    yyjson_doc *doc = ag_json_read(&a, ag_str_make(text, len), 0, &rc);
    assert_non_null(doc);
    assert_int_equal(rc, 0);
    yyjson_val *root = yyjson_doc_get_root(doc);
    assert_int_equal(yyjson_arr_size(root), n);
    size_t i, max;
    yyjson_val *v;
    yyjson_arr_foreach(root, i, max, v)
    {
        if (yyjson_get_uint(v) != i % 10)
            fail_msg("value %zu reads %llu", i, (unsigned long long)yyjson_get_uint(v));
    }
    ag_arena_dispose(&a);
    free(text);
}

/* What follows the document, and what the document holds, is judged as by a plain read. */
static void large_text_rejected_as_before(void **state)
{
    (void)state;
    static const struct {
        const char *tail;
        int want;
    } cases[] = {
        {"", 0},          {" \t\r\n ", 0},    {"x", AG_EPARSE},        {" {}", AG_EPARSE},
        {"}", AG_EPARSE}, {"\n1", AG_EPARSE}, {" /* c */", AG_EPARSE},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t len;
        char *text = conversation(64 * 1024, cases[c].tail, &len);
        struct ag_arena a;
        ag_arena_init(&a, 4096, 0);
        int rc = 1;
        yyjson_doc *doc = ag_json_read(&a, ag_str_make(text, len), 0, &rc);
        if (rc != cases[c].want || (doc != NULL) != (cases[c].want == 0))
            fail_msg("tail '%s': rc %d, want %d", cases[c].tail, rc, cases[c].want);
        /* a NUL byte after the document, as the text's own last byte */
        if (!cases[c].want) {
            ag_arena_dispose(&a);
            char *withnul = realloc(text, len + 1);
            assert_non_null(withnul);
            text = withnul;
            text[len] = '\0';
            assert_null(ag_json_read(&a, ag_str_make(text, len + 1), 0, &rc));
            assert_int_equal(rc, AG_EPARSE);
        }
        ag_arena_dispose(&a);
        free(text);
    }
    /* invalid UTF-8 deep inside (an overlong '/') */
    size_t len;
    char *text = conversation(64 * 1024, "", &len);
    memcpy(text + len / 2, "\xc0\xaf", 2);
    struct ag_arena a;
    ag_arena_init(&a, 4096, 0);
    int rc = 0;
    assert_null(ag_json_read(&a, ag_str_make(text, len), 0, &rc));
    assert_int_equal(rc, AG_EPARSE);
    ag_arena_dispose(&a);
    free(text);
}

/* Nesting past the limit in a large text, and the arena cap, fail as they did. */
static void large_text_depth_and_cap(void **state)
{
    (void)state;
    size_t len;
    char *text = conversation(64 * 1024, "", &len);
    struct ag_arena a;
    ag_arena_init(&a, 4096, 0);
    int rc = 1;
    assert_non_null(ag_json_read(&a, ag_str_make(text, len), 3, &rc));
    assert_int_equal(rc, 0);
    assert_null(ag_json_read(&a, ag_str_make(text, len), 2, &rc));
    assert_int_equal(rc, AG_EDEPTH);
    ag_arena_dispose(&a);
    ag_arena_init(&a, 4096, len / 2);
    assert_null(ag_json_read(&a, ag_str_make(text, len), 0, &rc));
    assert_int_equal(rc, AG_ETOOBIG);
    ag_arena_dispose(&a);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(large_text_takes_memory_for_its_values),
        cmocka_unit_test(many_values_grow_and_survive),
        cmocka_unit_test(large_text_rejected_as_before),
        cmocka_unit_test(large_text_depth_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
