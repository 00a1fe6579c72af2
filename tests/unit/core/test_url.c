/* Unit tests for core/url: finding and percent-decoding query and form values. */
#include "ag_test.h"

#include "core/url.h"

#include <string.h>

static void decode_handles_percent_plus_and_malformed_escapes(void **state)
{
    char out[64];
    assert_int_equal(ag_url_decode(AG_STR("a%20b+c%2Bd%3d"), out, sizeof(out)), 8);
    assert_string_equal(out, "a b c+d=");
    /* A '%' without two hex digits after it stays as it is. */
    assert_int_equal(ag_url_decode(AG_STR("100%zz%4"), out, sizeof(out)), 8);
    assert_string_equal(out, "100%zz%4");
    /* %00 decodes to a NUL byte that the returned length still counts. */
    assert_int_equal(ag_url_decode(AG_STR("x%00y"), out, sizeof(out)), 3);
    assert_memory_equal(out, "x\0y", 4);
}

static void decode_cuts_to_fit_and_reports_the_full_length(void **state)
{
    char out[4];
    assert_int_equal(ag_url_decode(AG_STR("%41%42%43%44%45"), out, sizeof(out)), 5);
    assert_string_equal(out, "ABC");
    assert_int_equal(ag_url_decode(AG_STR("abc"), out, sizeof(out)), 3);
    assert_string_equal(out, "abc");
    out[0] = 'z';
    assert_int_equal(ag_url_decode(AG_STR("abc"), out, 0), 3);
    assert_int_equal(out[0], 'z'); /* cap 0 writes nothing */
}

static void query_find_matches_whole_names_with_values(void **state)
{
    struct ag_str q = AG_STR("xcode=1&code&code=a%2Fb&state=&code=second");
    struct ag_str v = ag_url_query_find(q, "code");
    assert_true(ag_str_eq_c(v, "a%2Fb")); /* not "xcode", not the bare "code" */
    v = ag_url_query_find(q, "state");
    assert_non_null(v.p);
    assert_int_equal(v.len, 0);
    assert_null(ag_url_query_find(q, "missing").p);
    assert_null(ag_url_query_find(AG_STR(""), "code").p);
}

static void query_get_decodes_and_fails_when_absent_or_too_long(void **state)
{
    struct ag_str q = AG_STR("grant_type=refresh_token&token=1%2F%2Fab+cd");
    char out[16];
    assert_true(ag_url_query_get(q, "token", out, sizeof(out)));
    assert_string_equal(out, "1//ab cd");
    memcpy(out, "kept", 5);
    assert_false(ag_url_query_get(q, "code", out, sizeof(out)));
    assert_string_equal(out, "kept");
    char small[5];
    assert_false(ag_url_query_get(q, "grant_type", small, sizeof(small)));
    assert_string_equal(small, "refr");
}

static void mask_userinfo_hides_credentials_only(void **state)
{
    char out[128];
    assert_true(ag_url_mask_userinfo("http://bob:s3cret@proxy:3128/x?y=1", out, sizeof(out)));
    assert_string_equal(out, "http://bob:****@proxy:3128/x?y=1");
    /* a user alone may be a token */
    assert_true(ag_url_mask_userinfo("socks5h://tok3n@127.0.0.1:1080", out, sizeof(out)));
    assert_string_equal(out, "socks5h://****@127.0.0.1:1080");
    /* an '@' in the password: the last '@' of the authority ends the user info */
    assert_true(ag_url_mask_userinfo("http://u:p@ss@h:1", out, sizeof(out)));
    assert_string_equal(out, "http://u:****@h:1");
    /* an '@' after the authority is not user info */
    assert_false(ag_url_mask_userinfo("http://h:1/a@b", out, sizeof(out)));
    assert_string_equal(out, "http://h:1/a@b");
    assert_false(ag_url_mask_userinfo("", out, sizeof(out)));
    assert_string_equal(out, "");
    /* a cut result never keeps the secret */
    char small[12];
    ag_url_mask_userinfo("http://bob:s3cret@proxy:3128", small, sizeof(small));
    assert_null(strstr(small, "s3c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_handles_percent_plus_and_malformed_escapes),
        cmocka_unit_test(decode_cuts_to_fit_and_reports_the_full_length),
        cmocka_unit_test(query_find_matches_whole_names_with_values),
        cmocka_unit_test(query_get_decodes_and_fails_when_absent_or_too_long),
        cmocka_unit_test(mask_userinfo_hides_credentials_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
