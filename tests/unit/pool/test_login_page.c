/* Unit tests for the OAuth callback page (pool/login.c): what the browser shows after the redirect,
 * for the web UI's login and the CLI's alike. */
#include "ag_test.h"

#include "core/buf.h"
#include "core/err.h"
#include "pool/login.h"

#include <string.h>

static void page_escapes_and_reports_the_outcome(void **state)
{
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    assert_int_equal(ag_login_page_html(&b, true, "Account added",
                                        "a@b.c was added. <script>x</script> & \"q\""),
                     0);
    assert_non_null(strstr(b.data, "<h1>Account added</h1>"));
    assert_non_null(strstr(b.data, "&lt;script&gt;x&lt;/script&gt; &amp; &quot;q&quot;"));
    assert_null(strstr(b.data, "<script>x"));
    assert_non_null(strstr(b.data, "{type:'aigate-oauth',ok:true}"));
    ag_buf_reset(&b);
    assert_int_equal(ag_login_page_html(&b, false, "Login <failed>", "no code"), 0);
    assert_non_null(strstr(b.data, "<h1>Login &lt;failed&gt;</h1><p>no code</p>"));
    assert_non_null(strstr(b.data, "ok:false"));
    ag_buf_dispose(&b);
}

static void page_is_bounded(void **state)
{
    struct ag_buf b;
    ag_buf_init(&b, 64);
    assert_int_equal(ag_login_page_html(&b, true, "t", "x"), AG_ETOOBIG);
    ag_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(page_escapes_and_reports_the_outcome),
        cmocka_unit_test(page_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
