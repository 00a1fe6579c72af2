/* Unit tests for core/jsonw.c: escaping, commas between members, null for missing values, and
 * what happens at the buffer's cap. */
#include "ag_test.h"

#include "core/err.h"
#include "core/jsonw.h"

#include <math.h>
#include <string.h>

static void quotes_and_escapes(void **state)
{
    struct ag_buf b;
    ag_buf_init(&b, 1024);
    static const char in[] = "a\"b\\c\nd\re\tf\x01g\x1fh\xc3\xa9";
    assert_int_equal(ag_jsonw_quote(&b, in, sizeof(in) - 1), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh\xc3\xa9\"");
    ag_buf_reset(&b);
    /* a NUL inside the slice is a control character too */
    assert_int_equal(ag_jsonw_quote(&b, "x\0y", 3), 0);
    assert_string_equal(b.data, "\"x\\u0000y\"");
    ag_buf_dispose(&b);
}

static void members_get_their_commas(void **state)
{
    struct ag_buf b;
    ag_buf_init(&b, 1024);
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_str(&b, "s", "v");
    ag_jsonw_str(&b, "n", NULL);
    ag_jsonw_strn(&b, "sl", AG_STR("ab"));
    ag_jsonw_strn(&b, "none", AG_STR_NULL);
    ag_jsonw_int(&b, "i", -42);
    ag_jsonw_num(&b, "f", 0.5);
    ag_jsonw_num(&b, "nan", NAN);
    ag_jsonw_bool(&b, "t", true);
    ag_jsonw_raw(&b, "r", "[1,2]");
    ag_jsonw_open(&b, "a", '[');
    ag_jsonw_int(&b, NULL, 1);
    ag_jsonw_str(&b, NULL, "x");
    ag_jsonw_open(&b, NULL, '{');
    ag_jsonw_close(&b, '}');
    ag_jsonw_close(&b, ']');
    ag_jsonw_close(&b, '}');
    assert_string_equal(b.data,
                        "{\"s\":\"v\",\"n\":null,\"sl\":\"ab\",\"none\":null,\"i\":-42,"
                        "\"f\":0.5,\"nan\":null,\"t\":true,\"r\":[1,2],\"a\":[1,\"x\",{}]}");
    ag_buf_dispose(&b);
}

static void the_cap_leaves_no_half_string(void **state)
{
    struct ag_buf b;
    ag_buf_init(&b, 12);
    assert_int_equal(ag_jsonw_open(&b, NULL, '{'), 0);
    assert_int_equal(ag_jsonw_str(&b, "k", "a long value"), AG_ETOOBIG);
    /* the key went in, the value did not: the text is cut, never a string left open */
    assert_string_equal(b.data, "{\"k\":");
    ag_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quotes_and_escapes),
        cmocka_unit_test(members_get_their_commas),
        cmocka_unit_test(the_cap_leaves_no_half_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
