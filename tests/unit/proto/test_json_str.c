/* tests/unit/proto/test_json_str.c: ag_json_str_append writes every string exactly as yyjson's
 * writer does (the stream encoders rely on it to stay byte-for-byte what they were): all single
 * bytes, all two- and three-byte sequences, four-byte sequences over every lead and second byte,
 * and random mixes, each alone and between other text; invalid UTF-8 is refused like yyjson
 * refuses it, leaving the buffer as it was. */
#include "ag_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/buf.h"
#include "core/err.h"
#include "proto/json.h"

/* Compares ag_json_str_append with yyjson for the bytes s[0..n). */
static void same(const unsigned char *s, size_t n)
{
    yyjson_mut_val v;
    size_t len = 0;
    yyjson_mut_set_strn(&v, (const char *)s, n);
    char *want = yyjson_mut_val_write_opts(&v, YYJSON_WRITE_NOFLAG, NULL, &len, NULL);
    struct ag_buf out;
    ag_buf_init(&out, 0);
    ag_buf_append_c(&out, "x");
    int rc = ag_json_str_append(&out, ag_str_make((const char *)s, n));
    if (!want) {
        if (rc != AG_ENOMEM || out.len != 1)
            fail_msg("yyjson refuses %zu bytes starting %02x %02x, ours gave rc %d", n,
                     n ? s[0] : 0, n > 1 ? s[1] : 0, rc);
    } else {
        if (rc != 0 || out.len != len + 1 || memcmp(out.data + 1, want, len) != 0 ||
            out.data[out.len] != '\0')
            fail_msg("differs for %zu bytes starting %02x %02x: want %s got %s", n, n ? s[0] : 0,
                     n > 1 ? s[1] : 0, want, out.data ? out.data : "(null)");
    }
    free(want);
    ag_buf_dispose(&out);
}

static void test_single_and_two_bytes(void **state)
{
    (void)state;
    unsigned char s[4] = {0};
    same(s, 0);
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        same(s, 1);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            same(s, 2);
        }
    }
}

static void test_three_bytes(void **state)
{
    (void)state;
    unsigned char s[5] = {'a', 0, 0, 0, 'z'};
    for (unsigned a = 0xC0; a < 256; a++)
        for (unsigned b = 0x70; b < 0xD0; b++)
            for (unsigned c = 0x70; c < 0xD0; c++) {
                s[1] = (unsigned char)a;
                s[2] = (unsigned char)b;
                s[3] = (unsigned char)c;
                same(s, 5);
            }
}

static void test_four_bytes(void **state)
{
    (void)state;
    static const unsigned char tails[] = {0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0};
    unsigned char s[4];
    for (unsigned a = 0xE0; a < 256; a++)
        for (unsigned b = 0x70; b < 0xD0; b++)
            for (size_t c = 0; c < sizeof(tails); c++)
                for (size_t d = 0; d < sizeof(tails); d++) {
                    s[0] = (unsigned char)a;
                    s[1] = (unsigned char)b;
                    s[2] = tails[c];
                    s[3] = tails[d];
                    same(s, 4);
                    same(s, 3); /* cut short */
                }
}

static void test_random_mixes(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "a",    "\"", "\\",           "\n",           "\x01",
        "\x7f", "/",  "\xc3\xa9",     "\xe2\x80\xa8", "\xf0\x9f\x98\x80",
        "\xff", " ",  "\xed\xa0\x80", "\xc0\xaf",     "\t"};
    unsigned seed = 12345;
    unsigned char s[256];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        size_t count = (seed >> 16) % 40;
        for (size_t i = 0; i < count; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t l = strlen(p);
            if (n + l > sizeof(s))
                break;
            memcpy(s + n, p, l);
            n += l;
        }
        same(s, n);
    }
}

static void test_cap_leaves_buffer_unchanged(void **state)
{
    (void)state;
    struct ag_buf out;
    ag_buf_init(&out, 8);
    ag_buf_append_c(&out, "ab");
    assert_int_equal(ag_json_str_append(&out, AG_STR("too long for it")), AG_ETOOBIG);
    assert_int_equal(out.len, 2);
    assert_string_equal(out.data, "ab");
    assert_int_equal(ag_json_str_append(&out, AG_STR("\xff")), AG_ENOMEM);
    assert_int_equal(out.len, 2);
    assert_int_equal(ag_json_int_append(&out, -42), 0);
    assert_string_equal(out.data, "ab-42");
    ag_buf_dispose(&out);
}

static void test_int_text_and_literal_pieces(void **state)
{
    (void)state;
    char num[24];
    assert_string_equal(ag_json_int_text(num, 0), "0");
    assert_string_equal(ag_json_int_text(num, 7), "7");
    assert_string_equal(ag_json_int_text(num, -1), "-1");
    assert_string_equal(ag_json_int_text(num, INT64_MAX), "9223372036854775807");
    assert_string_equal(ag_json_int_text(num, INT64_MIN), "-9223372036854775808");
    struct ag_buf out;
    ag_buf_init(&out, 12);
    const char *pieces[] = {"ab", "", "cd", ag_json_int_text(num, 42)};
    assert_int_equal(ag_json_lits_append(&out, pieces, 4), 0);
    assert_string_equal(out.data, "abcd42");
    assert_int_equal(out.len, 6);
    const char *more[] = {"0123", "4567"}; /* 14 > cap 12: nothing is written */
    assert_int_equal(ag_json_lits_append(&out, more, 2), AG_ETOOBIG);
    assert_string_equal(out.data, "abcd42");
    ag_buf_dispose(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_and_two_bytes),
        cmocka_unit_test(test_three_bytes),
        cmocka_unit_test(test_four_bytes),
        cmocka_unit_test(test_random_mixes),
        cmocka_unit_test(test_cap_leaves_buffer_unchanged),
        cmocka_unit_test(test_int_text_and_literal_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
