/* Unit tests for core/hex.c: encoding bytes and numbers, and reading digits back. */
#include "ag_test.h"

#include "core/hex.h"

#include <string.h>

static void encodes_bytes_lower_and_upper(void **state)
{
    char out[16];
    memset(out, 'x', sizeof(out));
    char *end = ag_hex_encode(out, "\x00\x7f\x80\xff\xa5", 5);
    assert_string_equal(out, "007f80ffa5");
    assert_ptr_equal(end, out + 10);
    ag_hex_encode_upper(out, "\xab\x0c", 2);
    assert_string_equal(out, "AB0C");
    /* pieces chain: "12-34" */
    end = ag_hex_encode(out, "\x12", 1);
    *end++ = '-';
    ag_hex_encode(end, "\x34", 1);
    assert_string_equal(out, "12-34");
    ag_hex_encode(out, NULL, 0);
    assert_string_equal(out, "");
}

static void encodes_numbers_most_significant_first(void **state)
{
    char out[17];
    ag_hex_u64(out, 0x0123456789abcdefull, 16);
    assert_string_equal(out, "0123456789abcdef");
    ag_hex_u64(out, 0xfedcba9876543210ull, 8);
    assert_string_equal(out, "fedcba98");
    ag_hex_u64(out, 0, 4);
    assert_string_equal(out, "0000");
}

static void reads_digits_back(void **state)
{
    assert_int_equal(ag_hex_value('0'), 0);
    assert_int_equal(ag_hex_value('9'), 9);
    assert_int_equal(ag_hex_value('a'), 10);
    assert_int_equal(ag_hex_value('F'), 15);
    assert_int_equal(ag_hex_value('g'), -1);
    assert_int_equal(ag_hex_value('G'), -1);
    assert_int_equal(ag_hex_value('/'), -1);
    assert_int_equal(ag_hex_value(':'), -1);
    assert_int_equal(ag_hex_value('\0'), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_bytes_lower_and_upper),
        cmocka_unit_test(encodes_numbers_most_significant_first),
        cmocka_unit_test(reads_digits_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
