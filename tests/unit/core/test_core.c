/* Unit tests for core/: arena, buf, str, err, rand. */
#include "ag_test.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/rand.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

static void arena_allocates_aligned_and_respects_cap(void **state)
{
    struct ag_arena a;
    ag_arena_init(&a, 1024, 4096);
    char *p = ag_arena_alloc(&a, 10);
    char *q = ag_arena_alloc(&a, 10);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(((uintptr_t)p) % 16, 0);
    assert_int_equal(((uintptr_t)q) % 16, 0);
    assert_ptr_not_equal(p, q);
    /* A large block gets its own chunk; the cap stops growth. */
    assert_non_null(ag_arena_alloc(&a, 2000));
    assert_null(ag_arena_alloc(&a, 3000));
    char *s = ag_arena_printf(&a, "%s-%d", "x", 42);
    assert_string_equal(s, "x-42");
    assert_string_equal(ag_arena_cat(&a, "models/", ag_str_c("gemini-2.5-pro")),
                        "models/gemini-2.5-pro");
    assert_string_equal(ag_arena_cat(&a, "agent/", AG_STR_NULL), "agent/");
    assert_null(ag_arena_cat(&a, "x", ag_str_make(s, 5000))); /* past the cap */
    ag_arena_dispose(&a);
    assert_int_equal(ag_arena_used(&a), 0);
}

static void buf_caps_and_keeps_contents(void **state)
{
    struct ag_buf b;
    ag_buf_init(&b, 8);
    assert_int_equal(ag_buf_append_c(&b, "abcd"), 0);
    assert_int_equal(ag_buf_printf(&b, "%d", 1234), 0);
    assert_int_equal(ag_buf_append_c(&b, "x"), AG_ETOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "abcd1234");
    ag_buf_consume(&b, 3);
    assert_string_equal(b.data, "d1234");
    ag_buf_dispose(&b);
}

static void str_numbers_reject_garbage_and_overflow(void **state)
{
    uint64_t u;
    int64_t i;
    assert_int_equal(ag_str_to_u64(AG_STR("8045"), 65535, &u), 0);
    assert_int_equal(u, 8045);
    assert_int_equal(ag_str_to_u64(AG_STR("65536"), 65535, &u), AG_ETOOBIG);
    assert_int_equal(ag_str_to_u64(AG_STR("12a"), 100, &u), AG_EPARSE);
    assert_int_equal(ag_str_to_u64(AG_STR(""), 100, &u), AG_EPARSE);
    assert_int_equal(ag_str_to_u64(AG_STR("99999999999999999999999"), UINT64_MAX, &u), AG_ETOOBIG);
    assert_int_equal(ag_str_to_i64(AG_STR("-5"), -10, 10, &i), 0);
    assert_int_equal(i, -5);
    assert_int_equal(ag_str_to_i64(AG_STR("-11"), -10, 10, &i), AG_ETOOBIG);
    assert_true(ag_str_eq_ci(AG_STR("Content-Length"), AG_STR("content-length")));
    assert_true(ag_str_eq(ag_str_trim(AG_STR("  x y \t")), AG_STR("x y")));
}

static void str_search_finds_the_first_occurrence(void **state)
{
    assert_int_equal(ag_str_search(AG_STR("abcabc"), AG_STR("bc")), 1);
    assert_int_equal(ag_str_search(AG_STR("abcabc"), AG_STR("cab")), 2);
    assert_int_equal(ag_str_search(AG_STR("abc"), AG_STR("abcd")), -1);
    assert_int_equal(ag_str_search(AG_STR("abc"), AG_STR("")), 0);
    assert_int_equal(ag_str_search(AG_STR_NULL, AG_STR("a")), -1);
    /* bytes after a NUL are searched too: slices are not C strings */
    assert_int_equal(ag_str_search(AG_STR("a\0b\0c"), AG_STR("\0c")), 3);
    assert_true(ag_str_contains(AG_STR("x <system-reminder> y"), "<system-reminder>"));
    assert_false(ag_str_contains(AG_STR("x <system-remind"), "<system-reminder>"));
    assert_int_equal(ag_str_search_ci(AG_STR("Model CLAUDE-x"), AG_STR("claude")), 6);
    assert_true(ag_str_contains_ci(AG_STR("gemini-2.5-Pro"), "PRO"));
    assert_false(ag_str_contains_ci(AG_STR("gpt"), "gpt-4"));
    assert_false(ag_str_contains(AG_STR("Claude"), "claude"));
}

static void str_copy_cuts_to_the_room_and_always_terminates(void **state)
{
    (void)state;
    char out[6];
    memset(out, 'x', sizeof(out));
    assert_int_equal(ag_str_copy(out, sizeof(out), AG_STR("abc")), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(ag_str_copy(out, sizeof(out), AG_STR("abcdefgh")), 5);
    assert_string_equal(out, "abcde");
    assert_int_equal(ag_str_copy(out, sizeof(out), AG_STR_NULL), 0);
    assert_string_equal(out, "");
    assert_int_equal(ag_str_copy(out, 1, AG_STR("abc")), 0);
    assert_string_equal(out, "");
}

static void err_table_names_codes(void **state)
{
    assert_string_equal(ag_strerror(AG_ETOOBIG), "size limit exceeded");
    assert_string_equal(ag_errname(AG_EAGAIN), "AG_EAGAIN");
    assert_string_equal(ag_strerror(0), "success");
}

static void api_keys_are_random_and_well_formed(void **state)
{
    char a[40], b[40];
    assert_int_equal(ag_random_api_key(a, sizeof(a)), 0);
    assert_int_equal(ag_random_api_key(b, sizeof(b)), 0);
    assert_int_equal(strlen(a), 35);
    assert_memory_equal(a, "sk-", 3);
    for (int k = 3; k < 35; k++)
        assert_non_null(strchr("0123456789abcdef", a[k]));
    assert_string_not_equal(a, b);
    assert_true(ag_secret_eq(a, 35, a, 35));
    assert_false(ag_secret_eq(a, 35, b, 35));
    assert_false(ag_secret_eq(a, 35, a, 34));
}

/* Draws longer than one getrandom(2) call is sure to fill (256 bytes) are filled to the end, and
 * ids drawn in a row are well-formed and all different. */
static void random_bytes_fill_long_buffers_and_ids_differ(void **state)
{
    enum { LONG = 64 * 1024, IDS = 512 };
    unsigned char *buf = calloc(1, LONG);
    assert_non_null(buf);
    assert_int_equal(ag_random_bytes(buf, LONG), 0);
    /* the last 4 KiB are not left as they were (a chance of 2^-32768 of a false failure) */
    size_t nonzero = 0;
    for (size_t i = LONG - 4096; i < LONG; i++)
        nonzero += buf[i] != 0;
    assert_true(nonzero > 0);
    free(buf);

    static char ids[IDS][25];
    for (int i = 0; i < IDS; i++) {
        assert_int_equal(ag_random_hex(ids[i], sizeof(ids[i]), 12), 0);
        assert_int_equal(strlen(ids[i]), 24);
        assert_int_equal(strspn(ids[i], "0123456789abcdef"), 24);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    char small[8];
    assert_int_equal(ag_random_hex(small, sizeof(small), 4), AG_EINVAL); /* no room for the NUL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arena_allocates_aligned_and_respects_cap),
        cmocka_unit_test(buf_caps_and_keeps_contents),
        cmocka_unit_test(str_numbers_reject_garbage_and_overflow),
        cmocka_unit_test(str_search_finds_the_first_occurrence),
        cmocka_unit_test(str_copy_cuts_to_the_room_and_always_terminates),
        cmocka_unit_test(err_table_names_codes),
        cmocka_unit_test(api_keys_are_random_and_well_formed),
        cmocka_unit_test(random_bytes_fill_long_buffers_and_ids_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
